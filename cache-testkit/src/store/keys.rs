//! Keys that break naive backends.

/// Valid keys that a backend must store and return without mixing them up: spaces, control
/// bytes, NUL, CR LF followed by a memcached command, non-ASCII, near-duplicates that a lossy
/// encoding would merge, keys at and past memcached's 250-byte limit, and a 1000-byte key.
pub fn awkward_keys() -> Vec<String> {
    vec![
        "plain".into(),
        "AbC19_.".into(),
        "with space".into(),
        "with_space".into(),
        "with%20space".into(),
        "a b\r\nflush_all".into(),
        "tab\there\nnewline".into(),
        "nul\0byte".into(),
        "nul".into(),
        "\u{1}\u{2}\u{7f}".into(),
        "ключ 🔑 鍵".into(),
        "pipe|percent%dash-dot.".into(),
        "*glob?[chars]".into(),
        "a".repeat(250),
        "a".repeat(251),
        "a".repeat(300),
        format!("{} {}", "b".repeat(300), "tail"),
        "k".repeat(1000),
    ]
}

/// Makes every key of `keys` distinct, keeping the first of equal keys as it is and suffixing
/// the others with `#` and their position, so that models can tell keys apart by position.
pub(crate) fn distinct(keys: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    keys.into_iter()
        .enumerate()
        .map(|(i, key)| {
            if seen.insert(key.clone()) {
                key
            } else {
                let renamed = format!("{key}#{i}");
                seen.insert(renamed.clone());
                renamed
            }
        })
        .collect()
}

/// The key slots of a generated case: `awkward` keys drawn from [`awkward_keys`] and `random`
/// arbitrary valid keys of 1 to `max_len` characters, all distinct.
pub(crate) fn key_slots(
    awkward: usize,
    random: usize,
    max_len: usize,
) -> impl proptest::strategy::Strategy<Value = Vec<String>> {
    use proptest::strategy::Strategy;
    let pattern = format!("[^{{}}()/\\\\@:]{{1,{max_len}}}");
    let random_key = proptest::string::string_regex(&pattern).expect("a valid key pattern");
    (
        proptest::sample::subsequence(awkward_keys(), awkward),
        proptest::collection::vec(random_key, random),
    )
        .prop_map(|(mut keys, more)| {
            keys.extend(more);
            distinct(keys)
        })
}

/// The value slots of a generated case: `count` values of 0 to `max_len - 1` arbitrary bytes.
pub(crate) fn value_slots(
    count: usize,
    max_len: usize,
) -> impl proptest::strategy::Strategy<Value = Vec<bytes::Bytes>> {
    use proptest::strategy::Strategy;
    proptest::collection::vec(
        proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..max_len)
            .prop_map(bytes::Bytes::from),
        count,
    )
}
