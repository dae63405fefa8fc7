//! Tags shared with PHP: Symfony 5.4's `TagAwareAdapter` (Debian's, over phpredis and
//! php-memcached) and a Rust `TagAwarePool` over a pool in Symfony's format read each other's
//! tagged items, and a tag invalidated on one side is invalidated on the other, with either
//! marshaller; a tagged value computed on either side carries its expiry and computation
//! time to the other (early recomputation works across them).
//!
//! Runs on `CACHE_TEST_REDIS_URL`, `CACHE_TEST_REDIS_CLUSTER_URLS`, `CACHE_TEST_MEMCACHED_URL`
//! and `CACHE_TEST_MEMCACHED_URLS` with `CACHE_TEST_PHP` (scripts/test-servers.sh sets them);
//! skipped without them, failing instead when `CACHE_TEST_REQUIRE_SERVERS` is set (as in CI).

use std::sync::Arc;
use std::time::Duration;

use cache_pool::{CacheItemPool, CacheItemPoolExt, Computed, Pool, TagAware, TagAwarePool};
use cache_store::Store;
use cache_store::codec::{Codec, Php};
use cache_testkit::{server_url, unique_namespace};
use php_marshal::Format;
use serde_json::{Value as Json, json};

/// Runs PHP `code` with `$tags`, Symfony's `TagAwareAdapter` over its adapter for the
/// server(s) of `url` (namespace `namespace`, igbinary or `serialize()`); what it prints.
fn symfony_tags(php: &str, url: &str, namespace: &str, igbinary: bool, code: &str) -> String {
    let pool = cache_testkit::php::symfony_pool(url, namespace, igbinary);
    let prelude = cache_testkit::php::SYMFONY_PRELUDE;
    cache_testkit::php::run(
        php,
        &[],
        &format!(
            "{prelude}\nuse Symfony\\Component\\Cache\\Adapter\\TagAwareAdapter;\n{pool}\n\
             $tags = new TagAwareAdapter($pool);\n{code}"
        ),
    )
}

async fn rust_tags(url: &str, namespace: &str, marshaller: Format) -> TagAwarePool<Arc<dyn Store>> {
    let marshaller = match marshaller {
        Format::Serialize => "serialize",
        Format::Igbinary => "igbinary",
    };
    let pool: Pool<Arc<dyn Store>> = cache_pool::open(&format!(
        "{url}?namespace={namespace}&format=symfony-5.4-{marshaller}"
    ))
    .await
    .expect("open");
    TagAwarePool::over(pool)
}

/// Each test server with each marshaller (and whether it is igbinary).
fn servers_and_marshallers() -> Vec<(String, Format, bool)> {
    [
        "CACHE_TEST_REDIS_URL",
        "CACHE_TEST_REDIS_CLUSTER_URLS",
        "CACHE_TEST_MEMCACHED_URL",
        "CACHE_TEST_MEMCACHED_URLS",
    ]
    .into_iter()
    .filter_map(server_url)
    .flat_map(|url| {
        [
            (url.clone(), Format::Serialize, false),
            (url, Format::Igbinary, true),
        ]
    })
    .collect()
}

/// What a Rust item holds: its PHP string value, its tags, or a miss.
fn read(item: &cache_pool::CacheItem) -> Json {
    if !item.is_hit() {
        return Json::Null;
    }
    json!({"value": item.get_as::<String>(), "tags": item.tags()})
}

#[tokio::test]
async fn rust_reads_and_invalidates_symfonys_tags() {
    let Some(php) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    for (url, marshaller, igbinary) in servers_and_marshallers() {
        let namespace = unique_namespace("tg");
        symfony_tags(
            &php,
            &url,
            &namespace,
            igbinary,
            r#"
            $tags->save($tags->getItem('k1')->set('one')->tag(['red', 'blue']));
            $tags->save($tags->getItem('k2')->set('two')->tag('blue'));
            $tags->save($tags->getItem('k3')->set('three'));
            "#,
        );
        let pool = rust_tags(&url, &namespace, marshaller).await;
        let items = pool
            .get_items(&["k1", "k2", "k3"])
            .await
            .expect("get_items");
        let seen: Vec<Json> = items.iter().map(read).collect();
        assert_eq!(
            seen,
            [
                json!({"value": "one", "tags": ["red", "blue"]}),
                json!({"value": "two", "tags": ["blue"]}),
                json!({"value": "three", "tags": []}),
            ],
            "{marshaller:?} on {url}"
        );

        pool.invalidate_tags(&["red"]).await.expect("invalidate");
        let printed = symfony_tags(
            &php,
            &url,
            &namespace,
            igbinary,
            r#"
            $hits = [];
            foreach ($tags->getItems(['k1', 'k2', 'k3']) as $key => $item) {
                $hits[$key] = $item->isHit();
            }
            echo json_encode($hits);
            "#,
        );
        let hits: Json = serde_json::from_str(&printed).expect("PHP's reading");
        assert_eq!(
            hits,
            json!({"k1": false, "k2": true, "k3": true}),
            "Rust's invalidation of red, seen by PHP: {marshaller:?} on {url}"
        );
    }
}

#[tokio::test]
async fn symfony_reads_and_invalidates_rusts_tags() {
    let Some(php) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    for (url, marshaller, igbinary) in servers_and_marshallers() {
        let namespace = unique_namespace("tg");
        let pool = rust_tags(&url, &namespace, marshaller).await;
        for (key, value, tags) in [
            ("k1", "one", &["red", "blue"][..]),
            ("k2", "two", &["green"][..]),
            ("k3", "three", &[][..]),
        ] {
            let mut item = pool.get_item(key).await.expect("get_item");
            item.set_as(value).expect("a PHP string");
            for tag in tags {
                item.tag(tag).expect("tag");
            }
            pool.save(item).await.expect("save");
        }

        let printed = symfony_tags(
            &php,
            &url,
            &namespace,
            igbinary,
            r#"
            $read = [];
            foreach ($tags->getItems(['k1', 'k2', 'k3']) as $key => $item) {
                $read[$key] = [$item->isHit(), $item->get(), array_values($item->getMetadata()['tags'] ?? [])];
            }
            $tags->invalidateTags(['green']);
            echo json_encode($read);
            "#,
        );
        let read: Json = serde_json::from_str(&printed).expect("PHP's reading");
        assert_eq!(
            read,
            json!({
                "k1": [true, "one", ["red", "blue"]],
                "k2": [true, "two", ["green"]],
                "k3": [true, "three", []],
            }),
            "{marshaller:?} on {url}"
        );
        let hits: Vec<bool> = pool
            .get_items(&["k1", "k2", "k3"])
            .await
            .expect("get_items")
            .iter()
            .map(cache_pool::CacheItem::is_hit)
            .collect();
        assert_eq!(
            hits,
            [true, false, true],
            "PHP's invalidation of green, seen by Rust: {marshaller:?} on {url}"
        );
    }
}

#[tokio::test]
async fn tagged_values_computed_on_either_side_carry_their_metadata() {
    let Some(php) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    for (url, marshaller, igbinary) in servers_and_marshallers() {
        let namespace = unique_namespace("tg");
        let printed = symfony_tags(
            &php,
            &url,
            &namespace,
            igbinary,
            r#"
            $tags->get('php', function (ItemInterface $item) {
                $item->expiresAfter(600)->tag('red');
                usleep(30000);
                return 'from php';
            });
            echo json_encode($tags->getItem('php')->getMetadata());
            "#,
        );
        let php_metadata: Json = serde_json::from_str(&printed).expect("PHP's metadata");
        let pool = rust_tags(&url, &namespace, marshaller).await;
        let codec = match marshaller {
            Format::Serialize => Php::SERIALIZE,
            Format::Igbinary => Php::IGBINARY,
        };
        let from_php = pool.get_item("php").await.expect("get_item");
        assert_eq!(
            read(&from_php),
            json!({"value": "from php", "tags": ["red"]})
        );
        let meta = from_php
            .metadata()
            .expect("PHP's computed value carries metadata");
        assert_eq!(
            json!({"expiry": meta.expiry_ms / 1000, "ctime": meta.ctime_ms, "tags": {"red": "red"}}),
            php_metadata,
            "{marshaller:?} on {url}"
        );

        let value = codec.encode("from rust").expect("a PHP string");
        pool.get("rust", |_| async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok(Computed::new(value)
                .expires_after(Duration::from_secs(600))
                .tag("red"))
        })
        .await
        .expect("get");
        let meta = pool
            .get_item("rust")
            .await
            .expect("get_item")
            .metadata()
            .expect("a computed tagged value carries metadata");
        let printed = symfony_tags(
            &php,
            &url,
            &namespace,
            igbinary,
            r#"
            $item = $tags->getItem('rust');
            echo json_encode([$item->isHit(), $item->get(), $item->getMetadata()]);
            "#,
        );
        let read_by_php: Json = serde_json::from_str(&printed).expect("PHP's reading");
        assert_eq!(
            read_by_php,
            json!([
                true,
                "from rust",
                {"expiry": meta.expiry_ms / 1000, "ctime": meta.ctime_ms, "tags": {"red": "red"}}
            ]),
            "{marshaller:?} on {url}"
        );
    }
}
