//! Which server owns a key: rendezvous (highest random weight) hashing, so adding or removing
//! one of n servers moves only the keys that server gains or loses, about 1/n of them.

/// The index of the server that owns `key`: the one whose `(address, key)` hash is highest.
/// The hash is fixed (FNV-1a mixed by splitmix64), so every process agrees on the owner.
pub fn owner<'a>(addresses: impl IntoIterator<Item = &'a str>, key: &[u8]) -> usize {
    addresses
        .into_iter()
        .enumerate()
        .max_by_key(|(_, address)| weight(address.as_bytes(), key))
        .map_or(0, |(index, _)| index)
}

fn weight(address: &[u8], key: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in address.iter().chain([0xff].iter()).chain(key) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // FNV alone mixes its last bytes poorly; splitmix64's finalizer spreads them.
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("10.0.0.{i}:11211")).collect()
    }

    #[test]
    fn keys_spread_evenly_and_adding_a_server_moves_about_one_nth() {
        let keys: Vec<Vec<u8>> = (0..20_000)
            .map(|i| format!("ns:key-{i}").into_bytes())
            .collect();
        let three = servers(3);
        let four = servers(4);
        let mut per_server = [0usize; 3];
        let mut moved = 0;
        for key in &keys {
            let before = owner(three.iter().map(String::as_str), key);
            let after = owner(four.iter().map(String::as_str), key);
            per_server[before] += 1;
            if before != after {
                moved += 1;
                assert_eq!(after, 3, "a moved key must go to the new server");
            }
        }
        for count in per_server {
            assert!(
                (5_500..7_800).contains(&count),
                "uneven spread: {per_server:?}"
            );
        }
        let fraction = moved as f64 / keys.len() as f64;
        assert!(
            (0.20..0.30).contains(&fraction),
            "moved {fraction:.3} of the keys"
        );
    }
}
