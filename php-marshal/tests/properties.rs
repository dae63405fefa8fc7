//! Properties of both formats over arbitrary values and arbitrary bytes.

use std::borrow::Cow;

use php_marshal::{ArrayKey, Format, Value};
use proptest::prelude::*;

fn keys() -> impl Strategy<Value = ArrayKey<'static>> {
    prop_oneof![
        any::<i64>().prop_map(ArrayKey::Int),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(|s| ArrayKey::from_string(Cow::Owned(s))),
    ]
}

/// Any PHP value a reader can give: NaN aside (it equals nothing), every float bit pattern.
fn values() -> impl Strategy<Value = Value<'static>> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("NaN equals nothing", |f| !f.is_nan())
            .prop_map(Value::Float),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(|s| Value::String(Cow::Owned(s))),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let entries = move || prop::collection::vec((keys(), inner.clone()), 0..8);
        prop_oneof![
            entries().prop_map(Value::Array),
            (prop::collection::vec(1u8..=255, 1..8), entries()).prop_map(|(class, properties)| {
                Value::Object {
                    class: Cow::Owned(class),
                    properties,
                }
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_value_round_trips_through_both_formats(value in values()) {
        for format in [Format::Serialize, Format::Igbinary] {
            let mut bytes = Vec::new();
            format.write(&value, &mut bytes).unwrap();
            prop_assert_eq!(format.parse(&bytes).unwrap(), value.clone(), "{:?}", format);
            prop_assert_eq!(Format::of(&bytes), format);
            prop_assert!(php_marshal::looks_like_php(&bytes));
        }
    }

    #[test]
    fn reading_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = Format::Serialize.parse(&bytes);
        let mut igbinary = php_marshal::igbinary::HEADER.to_vec();
        igbinary.extend_from_slice(&bytes);
        let _ = Format::Igbinary.parse(&igbinary);
        let _ = php_marshal::unmarshal::<serde_json::Value>(&bytes);
        for format in [
            php_marshal::session::SessionFormat::Php,
            php_marshal::session::SessionFormat::PhpBinary,
            php_marshal::session::SessionFormat::PhpSerialize,
            php_marshal::session::SessionFormat::Igbinary,
        ] {
            let _ = php_marshal::session::decode(format, &bytes);
        }
    }

    #[test]
    fn damaging_a_valid_value_never_panics(value in values(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        for format in [Format::Serialize, Format::Igbinary] {
            let mut bytes = Vec::new();
            format.write(&value, &mut bytes).unwrap();
            let i = at.index(bytes.len());
            bytes[i] = byte;
            let _ = format.parse(&bytes);
            let _ = format.from_slice::<serde_json::Value>(&bytes);
            bytes.truncate(i);
            let _ = format.parse(&bytes);
        }
    }
}

#[test]
fn rust_values_php_cannot_hold_are_refused() {
    use std::collections::BTreeMap;
    assert!(Format::Serialize.to_vec(&u64::MAX).is_err());
    assert!(Format::Igbinary.to_vec(&(i64::MAX as u64 + 1)).is_err());
    let by_float: BTreeMap<bool, u8> = [(true, 1)].into_iter().collect();
    let err = Format::Serialize.to_vec(&by_float).unwrap_err();
    assert!(err.message().contains("not a bool"), "{err}");
    assert_eq!(
        Format::Serialize.to_vec(&(i64::MAX as u64)).unwrap(),
        b"i:9223372036854775807;"
    );
}

#[test]
fn numeric_string_keys_are_int_keys_as_in_php() {
    let map: std::collections::BTreeMap<String, u8> = [("7".to_owned(), 1), ("07".to_owned(), 2)]
        .into_iter()
        .collect();
    assert_eq!(
        Format::Serialize.to_vec(&map).unwrap(),
        br#"a:2:{s:2:"07";i:2;i:7;i:1;}"#
    );
    let back: std::collections::BTreeMap<String, u8> = Format::Serialize
        .from_slice(br#"a:2:{s:2:"07";i:2;i:7;i:1;}"#)
        .unwrap();
    assert_eq!(back, map);
}

#[test]
fn types_that_do_not_fit_are_errors_not_guesses() {
    assert!(Format::Serialize.from_slice::<u8>(b"i:256;").is_err());
    assert!(Format::Serialize.from_slice::<String>(b"i:1;").is_err());
    assert!(
        Format::Serialize
            .from_slice::<Vec<u8>>(br#"a:1:{s:1:"a";i:1;}"#)
            .is_err()
    );
    let err = Format::Serialize
        .from_slice::<String>(b"s:2:\"\xff\xfe\";")
        .unwrap_err();
    assert!(err.message().contains("byte array"), "{err}");
}
