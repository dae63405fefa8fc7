//! Symfony Cache (PHP, Debian's 5.4 with phpredis and php-memcached) and a Rust `Pool` with
//! `ValueFormat::symfony` on one Redis or memcached read each other's items, early-expiration
//! metadata included, with either marshaller; Doctrine's providers over them share entries
//! and `deleteAll`; PSR-16 values and `clear()` are shared.
//!
//! Runs on `CACHE_TEST_REDIS_URL` and `CACHE_TEST_REDIS_CLUSTER_URLS` (phpredis' `Redis` and
//! `RedisCluster` on the PHP side), `CACHE_TEST_MEMCACHED_URL` and
//! `CACHE_TEST_MEMCACHED_URLS` (Symfony's `MemcachedAdapter::createConnection` over the same
//! servers in the same order), and needs `CACHE_TEST_PHP` (scripts/test-servers.sh sets them
//! all);
//! skipped without them, failing instead when `CACHE_TEST_REQUIRE_SERVERS` is set (as in CI).

use std::sync::Arc;
use std::time::Duration;

use cache_pool::{CacheItemPool, CacheItemPoolExt, Computed, Pool};
use cache_store::codec::{Codec, Php};
use cache_store::{Expiration, Store};
use cache_testkit::{server_url, unique_namespace};
use doctrine_compat::{Cache as _, CacheExt as _, ClearableCache as _, DoctrineProvider};
use php_marshal::Format;
use serde_json::{Value as Json, json};
use simple_cache::{SimpleCache, SimpleCacheExt as _};

/// Runs PHP `code` with Symfony Cache's adapter for the server(s) of `url` in `$pool`
/// (namespace `namespace`, igbinary or serialize() as told); what it prints.
fn symfony(php: &str, url: &str, namespace: &str, igbinary: bool, code: &str) -> String {
    symfony_with(php, &[], url, namespace, igbinary, code)
}

/// [`symfony`] with `ini` settings for PHP (`name=value`).
fn symfony_with(
    php: &str,
    ini: &[&str],
    url: &str,
    namespace: &str,
    igbinary: bool,
    code: &str,
) -> String {
    let pool = cache_testkit::php::symfony_pool(url, namespace, igbinary);
    let prelude = cache_testkit::php::SYMFONY_PRELUDE;
    cache_testkit::php::run(php, ini, &format!("{prelude}\n{pool}\n{code}"))
}

/// The URL of the Rust side: the test Redis, namespace `namespace`, Symfony 5.4's layout and
/// `marshaller`, all in the URL.
fn rust_url(url: &str, namespace: &str, marshaller: Format) -> String {
    let marshaller = match marshaller {
        Format::Serialize => "serialize",
        Format::Igbinary => "igbinary",
    };
    format!("{url}?namespace={namespace}&format=symfony-5.4-{marshaller}")
}

async fn rust_pool(url: &str, namespace: &str, marshaller: Format) -> Pool<Arc<dyn Store>> {
    cache_pool::open(&rust_url(url, namespace, marshaller))
        .await
        .expect("open")
}

fn codec(marshaller: Format) -> Php {
    match marshaller {
        Format::Serialize => Php::SERIALIZE,
        Format::Igbinary => Php::IGBINARY,
    }
}

const MARSHALLERS: [(Format, bool); 2] = [(Format::Serialize, false), (Format::Igbinary, true)];

/// Each test server (Redis, the Redis Cluster, one memcached, two memcached) with each
/// marshaller (and whether it is igbinary).
fn servers_and_marshallers() -> Vec<(String, (Format, bool))> {
    [
        "CACHE_TEST_REDIS_URL",
        "CACHE_TEST_REDIS_CLUSTER_URLS",
        "CACHE_TEST_MEMCACHED_URL",
        "CACHE_TEST_MEMCACHED_URLS",
    ]
    .into_iter()
    .filter_map(server_url)
    .flat_map(|url| MARSHALLERS.map(|m| (url.clone(), m)))
    .collect()
}

#[tokio::test]
async fn rust_reads_symfony_items_and_their_metadata() {
    let Some(php) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    for (url, (marshaller, igbinary)) in servers_and_marshallers() {
        let namespace = unique_namespace("sf");
        let printed = symfony(
            &php,
            &url,
            &namespace,
            igbinary,
            r#"
            $item = $pool->getItem('plain');
            $pool->save($item->set(['name' => 'Ada', 'tags' => ['a', 'a'], 'n' => 7]));
            $pool->get('computed', function (ItemInterface $item) {
                $item->expiresAfter(600);
                usleep(30000);
                return 'bar';
            });
            echo json_encode($pool->getItem('computed')->getMetadata());
            "#,
        );
        let metadata: Json = serde_json::from_str(&printed).expect("PHP's metadata");
        let pool = rust_pool(&url, &namespace, marshaller).await;

        let plain = pool.get_item("plain").await.expect("get_item");
        assert!(plain.is_hit(), "{marshaller:?} on {url}");
        assert_eq!(plain.metadata(), None);
        // The pool's own codec: PHP's, from its format.
        assert_eq!(
            plain.get_as::<Json>(),
            Some(json!({"name": "Ada", "tags": ["a", "a"], "n": 7}))
        );

        let computed = pool.get_item("computed").await.expect("get_item");
        let value: String = computed
            .try_get_as(&codec(marshaller))
            .expect("a PHP value")
            .expect("a hit");
        assert_eq!(value, "bar");
        let meta = computed.metadata().expect("Symfony's metadata");
        assert_eq!(
            Some(meta.expiry_ms / 1000),
            metadata["expiry"].as_u64(),
            "{marshaller:?} on {url}"
        );
        assert_eq!(
            Some(u64::from(meta.ctime_ms)),
            metadata["ctime"].as_u64(),
            "{marshaller:?} on {url}"
        );
    }
}

#[tokio::test]
async fn symfony_reads_rust_items_and_their_metadata() {
    let Some(php) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    for (url, (marshaller, igbinary)) in servers_and_marshallers() {
        let namespace = unique_namespace("sf");
        let pool = rust_pool(&url, &namespace, marshaller).await;
        let codec = codec(marshaller);
        let mut item = pool.get_item("plain").await.expect("get_item");
        item.set_as(&json!({"name": "Ada", "tags": ["a", "a"]}))
            .expect("a PHP value");
        pool.save(item).await.expect("save");
        let value = codec.encode("bar").expect("a PHP value");
        pool.get("computed", |_| async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok(Computed::new(value).expires_after(Duration::from_secs(600)))
        })
        .await
        .expect("computed");
        let meta = pool
            .get_item("computed")
            .await
            .expect("get_item")
            .metadata()
            .expect("metadata");

        let printed = symfony(
            &php,
            &url,
            &namespace,
            igbinary,
            r#"
            $plain = $pool->getItem('plain');
            $computed = $pool->getItem('computed');
            echo json_encode([
                'plain' => [$plain->isHit(), $plain->get(), $plain->getMetadata()],
                'computed' => [$computed->isHit(), $computed->get(), $computed->getMetadata()],
            ]);
            "#,
        );
        let read: Json = serde_json::from_str(&printed).expect("PHP's reading");
        assert_eq!(
            read["plain"],
            json!([true, {"name": "Ada", "tags": ["a", "a"]}, []]),
            "{marshaller:?} on {url}"
        );
        assert_eq!(read["computed"][0], json!(true), "{marshaller:?} on {url}");
        assert_eq!(read["computed"][1], json!("bar"), "{marshaller:?} on {url}");
        assert_eq!(
            read["computed"][2],
            json!({"expiry": meta.expiry_ms / 1000, "ctime": meta.ctime_ms}),
            "{marshaller:?} on {url}"
        );
    }
}

#[tokio::test]
async fn what_symfony_cannot_read_is_neither_written_nor_read() {
    let Some(url) = server_url("CACHE_TEST_REDIS_URL") else {
        return;
    };
    let namespace = unique_namespace("sf");
    let pool = rust_pool(&url, &namespace, Format::Serialize).await;
    let mut item = pool.get_item("raw").await.expect("get_item");
    item.set("not a PHP value");
    let refused = pool.save(item.clone()).await.expect_err("no PHP value");
    assert_eq!(refused.kind(), cache_store::ErrorKind::InvalidArgument);
    assert_eq!(
        pool.save_deferred(item).expect_err("no PHP value").kind(),
        cache_store::ErrorKind::InvalidArgument
    );
    // Written behind the pool's back, it reads as a miss, as in Symfony.
    cache_store::Store::set(
        &**pool.store(),
        cache_store::Key::new("raw").expect("key"),
        "not a PHP value".into(),
        Expiration::Never,
    )
    .await
    .expect("set");
    assert!(!pool.get_item("raw").await.expect("get_item").is_hit());
    assert!(!pool.has_item("raw").await.expect("has_item"));
}

#[tokio::test]
async fn doctrine_entries_and_delete_all_are_shared() {
    let Some(php) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    for (url, (marshaller, igbinary)) in servers_and_marshallers() {
        let namespace = unique_namespace("sf");
        symfony(
            &php,
            &url,
            &namespace,
            igbinary,
            r#"
            $other = new DoctrineProvider($pool);
            $other->setNamespace('other');
            $other->save('id', 'other namespace');
            $doctrine = new DoctrineProvider($pool);
            $doctrine->setNamespace('app');
            $doctrine->save('before', 'old');
            $doctrine->deleteAll();
            $doctrine->save('id', ['x' => 1]);
            $doctrine->save('a:b/c é[x] %', 'awkward');
            "#,
        );
        let codec = codec(marshaller);
        let doctrine = DoctrineProvider::over_pool(rust_pool(&url, &namespace, marshaller).await)
            .with_namespace("app");
        let other = DoctrineProvider::over_pool(rust_pool(&url, &namespace, marshaller).await)
            .with_namespace("other");
        assert_eq!(
            other.fetch_as::<String>("id").await.expect("fetch_as"),
            Some("other namespace".to_owned()),
            "PHP's deleteAll of one namespace leaves the other: {marshaller:?} on {url}"
        );
        assert_eq!(
            doctrine.fetch("before").await.expect("fetch"),
            None,
            "{marshaller:?} on {url}"
        );
        assert_eq!(
            doctrine.fetch_as::<Json>("id").await.expect("fetch_as"),
            Some(json!({"x": 1}))
        );
        // An id PHP rawurlencodes into its key: the same key on both sides.
        assert_eq!(
            doctrine
                .fetch_as::<String>("a:b/c é[x] %")
                .await
                .expect("fetch_as"),
            Some("awkward".to_owned()),
            "{marshaller:?} on {url}"
        );

        doctrine
            .save_as("rust", "from rust", Duration::ZERO)
            .await
            .expect("save_as");
        doctrine.delete_all().await.expect("delete_all");
        doctrine
            .save(
                "after",
                codec.encode("after").expect("a PHP value"),
                Duration::ZERO,
            )
            .await
            .expect("save");
        let printed = symfony(
            &php,
            &url,
            &namespace,
            igbinary,
            r#"
            $doctrine = new DoctrineProvider($pool);
            $doctrine->setNamespace('app');
            $other = new DoctrineProvider($pool);
            $other->setNamespace('other');
            echo json_encode([$doctrine->fetch('id'), $doctrine->fetch('rust'), $doctrine->fetch('after'), $other->fetch('id')]);
            "#,
        );
        let read: Json = serde_json::from_str(&printed).expect("PHP's reading");
        assert_eq!(
            read,
            json!([false, false, "after", "other namespace"]),
            "{marshaller:?} on {url}"
        );
    }
}

#[tokio::test]
async fn psr16_values_are_shared() {
    let Some(php) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    for (url, (marshaller, igbinary)) in servers_and_marshallers() {
        let namespace = unique_namespace("sf");
        symfony(
            &php,
            &url,
            &namespace,
            igbinary,
            r#"
            $psr16 = new Psr16Cache($pool);
            $psr16->set('one', 1.5);
            $psr16->setMultiple(['two' => [true, null], 'three' => 'drei'], 600);
            "#,
        );
        let codec = codec(marshaller);
        let cache = simple_cache::open(&rust_url(&url, &namespace, marshaller))
            .await
            .expect("open");
        let values = cache
            .get_multiple(&["one", "two", "three", "none"])
            .await
            .expect("get_multiple");
        let read: Vec<Option<Json>> = values
            .iter()
            .map(|v| v.as_ref().map(|v| codec.decode(v).expect("a PHP value")))
            .collect();
        assert_eq!(
            read,
            [
                Some(json!(1.5)),
                Some(json!([true, null])),
                Some(json!("drei")),
                None
            ],
            "{marshaller:?} on {url}"
        );

        assert_eq!(
            cache.get_as::<String>("three").await.expect("get_as"),
            Some("drei".to_owned()),
            "typed, with the cache's own codec"
        );
        cache
            .set_as("six", &[1, 2], Expiration::Never)
            .await
            .expect("set_as");

        let rust: Vec<(&str, bytes::Bytes)> = vec![
            ("four", codec.encode(&4).expect("a PHP value")),
            (
                "five",
                codec.encode(&json!({"k": "v"})).expect("a PHP value"),
            ),
        ];
        cache
            .set_multiple(&rust, Expiration::After(Duration::from_secs(600)))
            .await
            .expect("set_multiple");
        let printed = symfony(
            &php,
            &url,
            &namespace,
            igbinary,
            r#"
            $psr16 = new Psr16Cache($pool);
            echo json_encode([$psr16->getMultiple(['four', 'five', 'one']), $psr16->has('five'), $psr16->get('six')]);
            "#,
        );
        let read: Json = serde_json::from_str(&printed).expect("PHP's reading");
        assert_eq!(
            read,
            json!([{"four": 4, "five": {"k": "v"}, "one": 1.5}, true, [1, 2]]),
            "{marshaller:?} on {url}"
        );
    }
}

#[tokio::test]
async fn clear_is_shared() {
    let Some(php) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    for (url, (marshaller, igbinary)) in servers_and_marshallers() {
        let namespace = unique_namespace("sf");
        let other = unique_namespace("sf");
        let codec = codec(marshaller);
        let cache = simple_cache::open(&rust_url(&url, &namespace, marshaller))
            .await
            .expect("open");
        let neighbour = simple_cache::open(&rust_url(&url, &other, marshaller))
            .await
            .expect("open");
        neighbour
            .set_as("kept", &1, Expiration::Never)
            .await
            .expect("set_as");
        cache
            .set_as("rust", &"before", Expiration::Never)
            .await
            .expect("set_as");
        let printed = symfony(
            &php,
            &url,
            &namespace,
            igbinary,
            r#"
            $psr16 = new Psr16Cache($pool);
            $seen = $psr16->get('rust');
            $psr16->set('php', 'before');
            $pool->clear();
            $psr16->set('after', 'php');
            echo json_encode([$seen, $psr16->get('rust'), $psr16->get('php')]);
            "#,
        );
        assert_eq!(
            serde_json::from_str::<Json>(&printed).expect("PHP's reading"),
            json!(["before", null, null]),
            "{marshaller:?} on {url}"
        );
        let rust: Vec<Option<String>> = cache
            .get_multiple(&["rust", "php", "after"])
            .await
            .expect("get_multiple")
            .iter()
            .map(|v| v.as_ref().map(|v| codec.decode(v).expect("a PHP value")))
            .collect();
        assert_eq!(
            rust,
            [None, None, Some("php".to_owned())],
            "PHP's clear, seen by Rust: {marshaller:?} on {url}"
        );

        cache.clear().await.expect("clear");
        let printed = symfony(
            &php,
            &url,
            &namespace,
            igbinary,
            r#"echo json_encode((new Psr16Cache($pool))->has('after'));"#,
        );
        assert_eq!(
            printed, "false",
            "Rust's clear, seen by PHP: {marshaller:?} on {url}"
        );
        assert_eq!(
            neighbour.get_as::<i64>("kept").await.expect("get_as"),
            Some(1),
            "another namespace is left alone: {marshaller:?} on {url}"
        );
    }
}

/// Keys with spaces, control bytes, non-ASCII text, keys near memcached's 250-byte limit,
/// and keys too long for it (which Symfony hashes there) name the same entries on both sides.
#[tokio::test]
async fn awkward_and_long_keys_are_shared() {
    let Some(php) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    let long = "k".repeat(300);
    let near_limit = format!("{}\u{1}", "m".repeat(200));
    let keys = [
        "a b",
        "tab\there",
        "nul\0byte",
        "caf\u{e9} \u{2603}",
        near_limit.as_str(),
        long.as_str(),
    ];
    for (url, (marshaller, igbinary)) in servers_and_marshallers() {
        let namespace = unique_namespace("sf");
        let php_keys = serde_json::to_string(&keys).expect("json");
        let printed = symfony(
            &php,
            &url,
            &namespace,
            igbinary,
            &format!(
                r#"
                $keys = json_decode('{php_keys}');
                foreach ($keys as $i => $key) {{
                    $pool->save($pool->getItem($key)->set("php $i"));
                }}
                echo 'saved';
                "#
            ),
        );
        assert_eq!(printed, "saved");
        let cache = simple_cache::open(&rust_url(&url, &namespace, marshaller))
            .await
            .expect("open");
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(
                cache.get_as::<String>(key).await.expect("get_as"),
                Some(format!("php {i}")),
                "{key:?}: {marshaller:?} on {url}"
            );
            cache
                .set_as(key, &format!("rust {i}"), Expiration::Never)
                .await
                .expect("set_as");
        }
        let printed = symfony(
            &php,
            &url,
            &namespace,
            igbinary,
            &format!(
                r#"
                $keys = json_decode('{php_keys}');
                echo json_encode(array_map(fn ($key) => $pool->getItem($key)->get(), $keys));
                "#
            ),
        );
        let read: Json = serde_json::from_str(&printed).expect("PHP's reading");
        assert_eq!(
            read,
            json!(["rust 0", "rust 1", "rust 2", "rust 3", "rust 4", "rust 5"]),
            "{marshaller:?} on {url}"
        );
    }
}

/// php-memcached compresses values from 2000 bytes on (FastLZ by default, or zlib): Rust
/// reads both; what Rust writes, uncompressed, PHP reads.
#[tokio::test]
async fn large_values_php_compressed_are_read() {
    let Some(php) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    let servers = ["CACHE_TEST_MEMCACHED_URL", "CACHE_TEST_MEMCACHED_URLS"]
        .into_iter()
        .filter_map(server_url);
    for url in servers {
        for (compression, (marshaller, igbinary)) in ["fastlz", "zlib"]
            .into_iter()
            .flat_map(|c| MARSHALLERS.map(|m| (c, m)))
        {
            let namespace = unique_namespace("sf");
            let setting = format!("memcached.compression_type={compression}");
            let printed = symfony_with(
                &php,
                &[&setting],
                &url,
                &namespace,
                igbinary,
                r#"
                $text = str_repeat('compressible text, ', 500) . 'end';
                $list = array_map(fn ($i) => "item $i", range(1, 800));
                $pool->save($pool->getItem('text')->set($text));
                $pool->save($pool->getItem('list')->set($list));
                echo json_encode([strlen($text), count($list)]);
                "#,
            );
            assert_eq!(printed, "[9503,800]");
            let cache = simple_cache::open(&rust_url(&url, &namespace, marshaller))
                .await
                .expect("open");
            let text = cache
                .get_as::<String>("text")
                .await
                .expect("get_as")
                .expect("a hit");
            assert!(
                text == format!("{}end", "compressible text, ".repeat(500)),
                "{compression}, {marshaller:?} on {url}: read {} bytes, not PHP's text",
                text.len()
            );
            let list = cache
                .get_as::<Vec<String>>("list")
                .await
                .expect("get_as")
                .expect("a hit");
            assert_eq!(list.len(), 800);
            assert_eq!(
                list[799], "item 800",
                "{compression}, {marshaller:?} on {url}"
            );

            cache
                .set_as("rust", &"r".repeat(50_000), Expiration::Never)
                .await
                .expect("set_as");
            let printed = symfony(
                &php,
                &url,
                &namespace,
                igbinary,
                "echo strlen($pool->getItem('rust')->get());",
            );
            assert_eq!(printed, "50000", "{compression}, {marshaller:?} on {url}");
        }
    }
}

/// Values a PHP program stores through php-memcached directly (no Symfony), with the
/// client's `OPT_PREFIX_KEY` as the namespace: ints, floats and bools (which php-memcached
/// flags by type), arrays it serializes itself (with `serialize()` or igbinary), and strings
/// (stored as they are). Rust reads each as PHP's value, and what Rust writes PHP reads as the
/// string it is.
#[tokio::test]
async fn values_php_memcached_types_by_its_flags_are_read() {
    let (Some(php), Some(url)) = (
        server_url("CACHE_TEST_PHP"),
        server_url("CACHE_TEST_MEMCACHED_URL"),
    ) else {
        return;
    };
    let server = url.trim_start_matches("memcache://");
    let (host, port) = server.rsplit_once(':').expect("host:port");
    for (serializer, name) in [
        ("SERIALIZER_PHP", "serialize"),
        ("SERIALIZER_IGBINARY", "igbinary"),
    ] {
        let prefix = format!("{}.", unique_namespace("typed"));
        let connect = format!(
            "$m = new Memcached();
            $m->addServer('{host}', {port});
            $m->setOption(Memcached::OPT_PREFIX_KEY, '{prefix}');
            $m->setOption(Memcached::OPT_SERIALIZER, Memcached::{serializer});"
        );
        cache_testkit::php::run(
            &php,
            &[],
            &format!(
                "{connect}
                $m->set('int', 42); $m->set('float', 1.5); $m->set('yes', true);
                $m->set('no', false); $m->set('list', ['a' => 1, 'b' => [2, 3]]);
                $m->set('text', 'plain');"
            ),
        );
        let store = cache_store::open(&format!("{url}?namespace={prefix}&keys=php-opt-prefix"))
            .await
            .expect("open");
        let read = |key: &'static str| {
            let store = std::sync::Arc::clone(&store);
            async move {
                store
                    .get(cache_store::Key::new(key).expect("key"))
                    .await
                    .expect("get")
                    .expect("a hit")
            }
        };
        let php_value =
            |bytes: bytes::Bytes| -> Json { Php::SERIALIZE.decode(&bytes).expect("a PHP value") };
        assert_eq!(php_value(read("int").await), json!(42), "{name}");
        assert_eq!(php_value(read("float").await), json!(1.5), "{name}");
        assert_eq!(php_value(read("yes").await), json!(true), "{name}");
        assert_eq!(php_value(read("no").await), json!(false), "{name}");
        assert_eq!(
            php_value(read("list").await),
            json!({"a": 1, "b": [2, 3]}),
            "{name}"
        );
        assert_eq!(
            &read("text").await[..],
            b"plain",
            "{name}: a string as it is"
        );

        let written = bytes::Bytes::from_static(b"bytes \x00 as they are");
        store
            .set(
                cache_store::Key::new("from-rust").expect("key"),
                written.clone(),
                Expiration::Never,
            )
            .await
            .expect("set");
        let printed = cache_testkit::php::run(
            &php,
            &[],
            &format!("{connect} echo json_encode(bin2hex($m->get('from-rust')));"),
        );
        let hex: String = written.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            printed,
            format!("\"{hex}\""),
            "{name}: PHP reads the string"
        );
    }
}
