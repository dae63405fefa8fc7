//! Against PHP itself: what PHP's `serialize()` and `igbinary_serialize()` write, Rust reads
//! as the same data; what Rust writes, PHP's `unserialize()` and `igbinary_unserialize()`
//! read as the same data, for fixed edge cases and for random values.
//!
//! PHP comes from `CACHE_TEST_PHP` (scripts/test-servers.sh installs Debian's php-cli and
//! php-igbinary and sets it); without it these tests are skipped, and with
//! `CACHE_TEST_REQUIRE_SERVERS` set (as CI does) they fail instead.

use std::io::Write;
use std::process::{Command, Stdio};

use php_marshal::{Format, Value};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value as Json, json};

/// The PHP binary, or `None` (after saying why) when the tests are to be skipped.
fn php() -> Option<String> {
    match std::env::var("CACHE_TEST_PHP") {
        Ok(php) => Some(php),
        // As the other server tests: CI sets it to 1 so that nothing passes by skipping.
        Err(_)
            if std::env::var("CACHE_TEST_REQUIRE_SERVERS")
                .is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true")) =>
        {
            panic!("CACHE_TEST_PHP is not set, and CACHE_TEST_REQUIRE_SERVERS requires PHP")
        }
        Err(_) => {
            eprintln!("skipped: CACHE_TEST_PHP is not set (scripts/test-servers.sh sets it)");
            None
        }
    }
}

/// Runs `script` with `input` on its standard input; its standard output.
fn run_php(php: &str, script: &str, input: &str) -> String {
    run_php_with(php, &[], script, input)
}

/// [`run_php`] with PHP settings (`-d name=value` each).
fn run_php_with(php: &str, settings: &[&str], script: &str, input: &str) -> String {
    let mut args = vec!["-d", "display_errors=stderr"];
    for setting in settings {
        args.extend(["-d", setting]);
    }
    args.extend(["-r", script]);
    let mut child = Command::new(php)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start php");
    // Written from another thread: PHP answers line by line, and a full pipe either way
    // would otherwise stall both.
    let mut stdin = child.stdin.take().expect("php's stdin");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("php ran");
    writer.join().expect("the writer").expect("write to php");
    assert!(
        output.status.success(),
        "php failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("php printed text")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// PHP's function that turns a value into JSON-able data: objects become the array of their
/// properties, names unmangled.
const AS_DATA: &str = r#"
function as_data($v) {
    if (is_object($v)) {
        $out = [];
        foreach ((array) $v as $k => $p) {
            $out[preg_replace('/^\0[^\0]*\0/', '', (string) $k)] = as_data($p);
        }
        return $out;
    }
    if (is_array($v)) {
        return array_map('as_data', $v);
    }
    return $v;
}
"#;

/// The values PHP writes and Rust must read as the same data.
const PHP_VALUES: &str = r#"
class Account { public $id = 7; protected $owner = 'ada'; private $secret = [1, 2]; }
$values = [
    null, false, true, 0, 1, -1, 255, 256, -65536, 4294967296, PHP_INT_MAX, PHP_INT_MIN,
    0.0, -0.0, 0.1, 1.5, -2.25, 1e25, 1e-7, 1.7976931348623157e308, 5e-324,
    "", "abc", "a\"b;c:{}", "ü€😀", str_repeat("x", 300), str_repeat("y", 70000),
    [], [1, 2, 3], ["a" => 1, "b" => [true, null]], [5 => "x", 7 => "y"], [2 => "c", 0 => "a"],
    ["07" => 1, "7" => 2, "-3" => 3, "" => 4], array_fill(0, 300, "same"), range(0, 300),
    ["k" => "k", "v" => ["k" => "k"]], new Account(), (object) ["x" => 1, "y" => [new Account()]],
    [[[[[[[["deep"]]]]]]]],
];
// Shared arrays and objects, which igbinary writes once and then names (PHP's one empty
// array is shared by every empty array).
$shared = [1, 2]; $object = (object) ["n" => 1];
$values[] = [$shared, $shared, [$shared]];
$values[] = ["tags" => [], "scores" => [], "more" => [[], []]];
$values[] = [$object, [$object], $object];
"#;

#[test]
fn rust_reads_what_php_writes() {
    let Some(php) = php() else {
        return;
    };
    let script = format!(
        "{AS_DATA}{PHP_VALUES}
        echo count($values), \"\\n\";
        foreach ($values as $v) {{
            echo bin2hex(serialize($v)), ' ', bin2hex(igbinary_serialize($v)), ' ',
                json_encode(as_data($v), JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR), \"\\n\";
        }}"
    );
    let output = run_php(&php, &script, "");
    let mut lines = output.lines();
    let written: usize = lines.next().expect("a count").parse().expect("a count");
    let mut checked = 0;
    for line in lines {
        let mut parts = line.splitn(3, ' ');
        let (serialized, igbinary, json) = (
            unhex(parts.next().expect("serialize()")),
            unhex(parts.next().expect("igbinary")),
            parts.next().expect("json"),
        );
        let expected: Json = serde_json::from_str(json).expect("PHP's JSON");
        for (format, bytes) in [
            (Format::Serialize, &serialized),
            (Format::Igbinary, &igbinary),
        ] {
            let read: Json = format
                .from_slice(bytes)
                .unwrap_or_else(|e| panic!("{format:?} of {json}: {e}"));
            assert_eq!(
                same_data(&read),
                same_data(&expected),
                "{format:?} of {json}"
            );
            assert_eq!(Format::of(bytes), format, "{json}");
        }
        checked += 1;
    }
    assert_eq!(checked, written, "every value PHP wrote was checked");
}

/// PHP's arrays are JSON arrays when they are lists and JSON objects otherwise, but an empty
/// array is `[]` either way, and a map whose keys PHP made `0, 1, ...` a list: the same data.
fn same_data(json: &Json) -> Json {
    match json {
        Json::Object(map) if map.is_empty() => Json::Array(Vec::new()),
        Json::Object(map) => {
            let is_list = map.keys().enumerate().all(|(i, k)| *k == i.to_string());
            if is_list {
                Json::Array(map.values().map(same_data).collect())
            } else {
                Json::Object(map.iter().map(|(k, v)| (k.clone(), same_data(v))).collect())
            }
        }
        Json::Array(items) => Json::Array(items.iter().map(same_data).collect()),
        Json::Number(n) => match n.as_f64() {
            // -0.0 and 0.0 are the same data; PHP's JSON writes both as they are.
            Some(f) if f == 0.0 && n.is_f64() => Json::from(0.0),
            _ => json.clone(),
        },
        other => other.clone(),
    }
}

#[test]
fn binary_strings_and_classes_read_as_php_wrote_them() {
    let Some(php) = php() else {
        return;
    };
    let script = r#"
        class Account { private $secret = "\xff\x00"; }
        $bytes = random_bytes(64) . "\0\xff";
        $object = new Account();
        echo bin2hex($bytes), ' ', bin2hex(serialize($bytes)), ' ', bin2hex(igbinary_serialize($bytes)), "\n";
        echo bin2hex(serialize($object)), ' ', bin2hex(igbinary_serialize($object)), "\n";
    "#;
    let output = run_php(&php, script, "");
    let mut lines = output.lines();
    let strings: Vec<Vec<u8>> = lines
        .next()
        .expect("strings")
        .split(' ')
        .map(unhex)
        .collect();
    for format in [Format::Serialize, Format::Igbinary] {
        let bytes = if format == Format::Serialize {
            &strings[1]
        } else {
            &strings[2]
        };
        let read: serde_bytes::ByteBuf = format.from_slice(bytes).expect("bytes");
        assert_eq!(read.as_slice(), &strings[0][..], "{format:?}");
    }
    let objects: Vec<Vec<u8>> = lines
        .next()
        .expect("objects")
        .split(' ')
        .map(unhex)
        .collect();
    for (format, bytes) in [
        (Format::Serialize, &objects[0]),
        (Format::Igbinary, &objects[1]),
    ] {
        match format.parse(bytes).expect("an object") {
            Value::Object { class, properties } => {
                assert_eq!(&class[..], b"Account");
                assert_eq!(properties.len(), 1);
                assert_eq!(
                    php_marshal::property_name(match &properties[0].0 {
                        php_marshal::ArrayKey::String(s) => s,
                        other => panic!("{other:?}"),
                    }),
                    b"secret"
                );
                assert_eq!(properties[0].1, Value::String(b"\xff\x00".to_vec().into()));
            }
            other => panic!("{format:?}: {other:?}"),
        }
    }
}

#[test]
fn what_has_no_meaning_as_data_is_an_error_naming_it() {
    let Some(php) = php() else {
        return;
    };
    let script = r#"
        enum Suit { case Hearts; }
        class Legacy implements Serializable {
            function serialize() { return "opaque"; }
            function unserialize($d) {}
        }
        class Node { public $self; }
        $cyclic = new Node(); $cyclic->self = $cyclic;
        $list = [1]; $list[1] = &$list[0];
        foreach ([Suit::Hearts, new Legacy(), $cyclic, $list] as $v) {
            echo bin2hex(@serialize($v)), ' ', bin2hex(igbinary_serialize($v)), "\n";
        }
    "#;
    let output = run_php(&php, script, "");
    let named = ["Suit", "Legacy", "contains itself", "PHP reference"];
    for (line, named) in output.lines().zip(named) {
        for (format, bytes) in [Format::Serialize, Format::Igbinary]
            .into_iter()
            .zip(line.split(' '))
        {
            let err = format.parse(&unhex(bytes)).expect_err("no meaning as data");
            assert!(err.message().contains(named), "{format:?}: {err}");
        }
    }
}

/// PHP reads every line of hex in each format and prints it back as JSON.
fn php_reads(php: &str, lines: &str) -> Vec<Json> {
    let script = format!(
        "{AS_DATA}
        while (($line = fgets(STDIN)) !== false) {{
            [$format, $hex] = explode(' ', trim($line));
            $bytes = hex2bin($hex);
            $v = $format === 's' ? unserialize($bytes) : igbinary_unserialize($bytes);
            if ($v === false && $bytes !== serialize(false) && $bytes !== igbinary_serialize(false)) {{
                fwrite(STDERR, \"cannot read $line\"); exit(1);
            }}
            echo json_encode(as_data($v), JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR), \"\\n\";
        }}"
    );
    run_php(php, &script, lines)
        .lines()
        .map(|line| serde_json::from_str(line).expect("PHP's JSON"))
        .collect()
}

/// JSON-like values with the keys and floats PHP can hold as they are.
fn json_values() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Json::from),
        ".{0,12}".prop_map(Json::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            // Keys PHP keeps as strings: not canonical decimal ints.
            prop::collection::btree_map("[a-z_][a-z0-9 ]{0,6}", inner, 0..6)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn php_reads_what_rust_writes() {
    let Some(php) = php() else {
        return;
    };
    let mut runner = TestRunner::deterministic();
    let mut values: Vec<Json> = Vec::new();
    for _ in 0..256 {
        values.push(
            json_values()
                .new_tree(&mut runner)
                .expect("a value")
                .current(),
        );
    }
    // The edges, beside the random values.
    values.extend([
        Json::from(i64::MIN),
        Json::from(i64::MAX),
        Json::from(5e-324),
        Json::from(1e25),
        Json::from("ü€😀"),
        Json::from("x".repeat(70_000)),
        Json::Array((0..300).map(Json::from).collect()),
        serde_json::json!({"k": "k", "v": {"k": "k"}}),
    ]);
    let mut lines = String::new();
    for value in &values {
        lines += &format!(
            "s {}\n",
            hex(&Format::Serialize.to_vec(value).expect("serialize"))
        );
        lines += &format!(
            "i {}\n",
            hex(&Format::Igbinary.to_vec(value).expect("igbinary"))
        );
    }
    let read = php_reads(&php, &lines);
    assert_eq!(read.len(), values.len() * 2);
    for (i, value) in values.iter().enumerate() {
        for (format, back) in ["serialize()", "igbinary"]
            .into_iter()
            .zip(&read[2 * i..2 * i + 2])
        {
            assert_eq!(
                same_data(back),
                same_data(value),
                "PHP's {format} read of {value}"
            );
        }
    }
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum Shape {
    Empty,
    Circle(f64),
    Rect { w: u32, h: u32 },
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Record {
    id: u64,
    name: String,
    #[serde(with = "serde_bytes")]
    blob: Vec<u8>,
    tags: Vec<String>,
    scores: std::collections::BTreeMap<i64, f64>,
    shape: Shape,
    parent: Option<Box<Record>>,
}

#[test]
fn rust_types_make_the_round_trip_through_php() {
    let Some(php) = php() else {
        return;
    };
    let record = Record {
        id: 42,
        name: "Ada".into(),
        blob: vec![0, 0xff, b'"', b';'],
        tags: vec!["a".into(), "a".into()],
        scores: [(-1, 0.5), (7, 1e25)].into_iter().collect(),
        shape: Shape::Rect { w: 3, h: 4 },
        parent: Some(Box::new(Record {
            id: 1,
            name: String::new(),
            blob: Vec::new(),
            tags: Vec::new(),
            scores: Default::default(),
            shape: Shape::Empty,
            parent: None,
        })),
    };
    // PHP reads Rust's bytes and writes them again; Rust reads PHP's bytes as the record.
    let script = r#"
        while (($line = fgets(STDIN)) !== false) {
            [$format, $hex] = explode(' ', trim($line));
            $v = $format === 's' ? unserialize(hex2bin($hex)) : igbinary_unserialize(hex2bin($hex));
            echo bin2hex($format === 's' ? serialize($v) : igbinary_serialize($v)), "\n";
        }
    "#;
    let input = format!(
        "s {}\ni {}\n",
        hex(&Format::Serialize.to_vec(&record).expect("serialize")),
        hex(&Format::Igbinary.to_vec(&record).expect("igbinary"))
    );
    let output = run_php(&php, script, &input);
    let mut lines = output.lines();
    for format in [Format::Serialize, Format::Igbinary] {
        let bytes = unhex(lines.next().expect("a line"));
        let back: Record = format
            .from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{format:?} {e}: {}", String::from_utf8_lossy(&bytes)));
        assert_eq!(back, record, "{format:?}");
    }
    let circle = Format::Serialize
        .to_vec(&Shape::Circle(0.5))
        .expect("serialize");
    assert_eq!(circle, br#"a:1:{s:6:"Circle";d:0.5;}"#);
}

/// Session data: what `session_encode()` writes under each handler, Rust reads as the same
/// variables, and what Rust writes, `session_decode()` reads as the same `$_SESSION`.
#[test]
fn session_data_is_shared_with_php() {
    use php_marshal::session::{self, SessionFormat};
    let Some(php) = php() else {
        return;
    };
    let handlers = [
        ("php", SessionFormat::Php),
        ("php_binary", SessionFormat::PhpBinary),
        ("php_serialize", SessionFormat::PhpSerialize),
        ("igbinary", SessionFormat::Igbinary),
    ];
    let session =
        r#"["user" => "ada", "n" => 3, "roles" => ["a", "b"], "7" => 1.5, "gone" => null]"#;
    for (name, format) in handlers {
        let handler = format!("session.serialize_handler={name}");
        let settings = [
            handler.as_str(),
            "session.save_path=/tmp",
            "session.use_cookies=0",
        ];
        // PHP writes; Rust reads the variables PHP itself reads back from that data (the php
        // and php_binary handlers skip numeric names, with a notice).
        let script = format!(
            "session_start(); $_SESSION = {session}; $data = @session_encode();
            $_SESSION = []; session_decode($data);
            echo bin2hex($data), ' ', json_encode($_SESSION), \"\\n\";
            session_abort();"
        );
        let output = run_php_with(&php, &settings, &script, "");
        let (data, json) = output.trim().split_once(' ').expect("data and JSON");
        let vars = session::decode(format, &unhex(data)).expect(name);
        let as_json: serde_json::Map<String, Json> = vars
            .iter()
            .map(|(k, v)| {
                let value: Json = php_marshal::from_value(v.clone()).expect("JSON-able");
                (String::from_utf8(k.clone()).expect("UTF-8 names"), value)
            })
            .collect();
        let php_json: Json = serde_json::from_str(json).expect("PHP's JSON");
        assert_eq!(Json::Object(as_json), php_json, "{name}: PHP -> Rust");

        // Rust writes the same variables; PHP reads them.
        let data = session::encode(format, &vars).expect(name);
        let script = "session_start();
            session_decode(hex2bin(trim(fgets(STDIN))));
            echo json_encode($_SESSION);
            session_abort();";
        let read = run_php_with(&php, &settings, script, &format!("{}\n", hex(&data)));
        let read: Json = serde_json::from_str(&read).expect("PHP's JSON");
        assert_eq!(read, php_json, "{name}: Rust -> PHP");
    }
}

/// What Rust writes is what PHP writes, byte for byte, where PHP's output has one form (no
/// floats, whose text PHP and Rust spell differently but read alike): igbinary's string table
/// included.
#[test]
fn rust_writes_the_bytes_php_writes() {
    let Some(php) = php() else {
        return;
    };
    let values = [
        json!(null),
        json!(true),
        json!(-1),
        json!(i64::MIN),
        json!(65_536),
        json!("ü€"),
        json!(["a", "b", "a"]),
        json!({"k": "k", "list": [1, 2, {"k": "k"}], "": ""}),
        Json::Array((0..300).map(Json::from).collect()),
    ];
    let input: String = values.iter().map(|v| format!("{v}\n")).collect();
    let script = "while (($line = fgets(STDIN)) !== false) {
        $v = json_decode($line, true);
        echo bin2hex(serialize($v)), ' ', bin2hex(igbinary_serialize($v)), \"\\n\";
    }";
    let output = run_php(&php, script, &input);
    for (value, line) in values.iter().zip(output.lines()) {
        let (serialized, igbinary) = line.split_once(' ').expect("two forms");
        assert_eq!(
            hex(&Format::Serialize.to_vec(value).expect("serialize")),
            serialized,
            "serialize() of {value}"
        );
        assert_eq!(
            hex(&Format::Igbinary.to_vec(value).expect("igbinary")),
            igbinary,
            "igbinary of {value}"
        );
    }
}

/// Arrays and objects PHP shares between places read as copies; a value that contains itself
/// is refused; both as PHP writes them.
#[test]
fn shared_values_read_as_copies_and_cycles_are_refused() {
    use php_marshal::ArrayKey;
    let Some(php) = php() else {
        return;
    };
    let script = r#"
        $a = [1]; $b = [$a, $a, [$a]];
        $o = new stdClass(); $o->x = 1;
        class Node { public $self; } $c = new Node(); $c->self = $c;
        foreach ([[$b, $b, $a], [$o, [$o], $o], $c] as $v) {
            echo bin2hex(serialize($v)), ' ', bin2hex(igbinary_serialize($v)), "\n";
        }
    "#;
    let output = run_php(&php, script, "");
    let lines: Vec<(Vec<u8>, Vec<u8>)> = output
        .lines()
        .map(|line| {
            let (s, i) = line.split_once(' ').expect("two forms");
            (unhex(s), unhex(i))
        })
        .collect();
    let int = |i: i64| ArrayKey::Int(i);
    let a = || Value::Array(vec![(int(0), Value::Int(1))]);
    let b = || {
        Value::Array(vec![
            (int(0), a()),
            (int(1), a()),
            (int(2), Value::Array(vec![(int(0), a())])),
        ])
    };
    let o = || Value::Object {
        class: b"stdClass".to_vec().into(),
        properties: vec![(ArrayKey::String(b"x".to_vec().into()), Value::Int(1))],
    };
    let expected = [
        Value::Array(vec![(int(0), b()), (int(1), b()), (int(2), a())]),
        Value::Array(vec![
            (int(0), o()),
            (int(1), Value::Array(vec![(int(0), o())])),
            (int(2), o()),
        ]),
    ];
    for ((serialized, igbinary), expected) in lines.iter().zip(&expected) {
        assert_eq!(
            &Format::Serialize.parse(serialized).expect("serialize()"),
            expected
        );
        assert_eq!(
            &Format::Igbinary.parse(igbinary).expect("igbinary"),
            expected
        );
    }
    let (serialized, igbinary) = &lines[2];
    for (format, bytes) in [
        (Format::Serialize, serialized),
        (Format::Igbinary, igbinary),
    ] {
        let err = format.parse(bytes).expect_err("a cycle");
        assert!(
            err.message().contains("contains itself"),
            "{format:?}: {err}"
        );
    }
}
