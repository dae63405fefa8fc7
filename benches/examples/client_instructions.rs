//! Client instructions per operation, the measure that holds when wall time is too noisy to
//! resolve a few percent (benches/README.md, "What changed since 5b597ad"): runs one operation
//! `n` times against a test server, to be counted by callgrind; the difference of two counts
//! divided by the difference of `n` cancels start-up.
//!
//! ```sh
//! cargo build --release -p benches --example client_instructions
//! scripts/test-servers.sh bash -c 'for n in 100 300; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/client_instructions redis doctrine_get_many $n 2>&1 | grep Collected
//! done'   # (second - first) / 200 = instructions per operation
//! ```
//!
//! Backends: `redis`, `memcached` (from `CACHE_TEST_REDIS_URL`, `CACHE_TEST_MEMCACHED_URL`),
//! and `moka` and `memory` (in the process: their instructions are all the work).
//! Operations: `store_get`, `pool_get`, `psr16_get`, `doctrine_get`, the same with `_set`/
//! `pool_save`, `observed_get` and `observed_set` (the store wrapped as `open` wraps it:
//! traced, with no subscriber), `*_get_many` and `*_set_many` over 100 keys, `pool_deferred_commit` (100
//! deferred saves and a commit), and `session_pool`, `session_psr16`, `session_doctrine` (a
//! session read and write; `raw_session` is raw redis-rs's GET and SET EX of the same), and
//! `typed_get_<p>` / `typed_set_<p>` (a record read or written
//! through a pool of profile `<p>`: `msgpack`, the default, or Symfony 5.4's layout with
//! `igbinary` or `serialize`).
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cache_pool::{CacheItem, CacheItemPool, Pool, PoolValues as _};
use cache_store::{Entry, Expiration, Key, Observed, Store};
use doctrine_compat::{Cache as _, CacheProvider, MultiOperationCache as _};
use session_bridge::{CacheSessionHandler, SessionHandler, SessionOptions};
use simple_cache::{Cache, SimpleCache};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, backend, op, n] = &args[..] else {
        panic!("usage: client_instructions <redis|memcached|moka|memory> <operation> <iterations>");
    };
    let n: usize = n.parse().expect("iterations: a number");
    let store: Arc<dyn Store> = match backend.as_str() {
        "redis" => Arc::new(
            cache_store::redis::RedisStore::builder(
                &std::env::var("CACHE_TEST_REDIS_URL").expect("CACHE_TEST_REDIS_URL"),
            )
            .namespace("ab")
            .connect()
            .await
            .expect("the server answers"),
        ),
        "memory" => Arc::new(
            cache_store::memory::MemoryStore::builder()
                .namespace("ab")
                .build()
                .expect("a memory store"),
        ),
        "moka" => Arc::new(
            cache_store::moka::MokaStore::builder()
                .namespace("ab")
                .build()
                .expect("a moka store"),
        ),
        _ => Arc::new(
            cache_store::memcached::MemcachedStore::builder(
                &std::env::var("CACHE_TEST_MEMCACHED_URL").expect("CACHE_TEST_MEMCACHED_URL"),
            )
            .namespace("ab")
            .build()
            .expect("the server answers"),
        ),
    };
    let value = Bytes::from(vec![b'v'; 100]);
    let keys: Vec<String> = (0..100).map(|i| format!("key.{i:06}")).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    // What `cache_store::open` gives: the same store, traced (no subscriber listens here).
    let observed = Observed::new(Arc::clone(&store));
    let pool = Pool::new(Arc::clone(&store));
    let psr16 = Cache::new(Arc::clone(&store));
    let doctrine = CacheProvider::new(Arc::clone(&store)).with_namespace("d");
    let entries: Vec<(&str, Bytes)> = key_refs.iter().map(|k| (*k, value.clone())).collect();
    // Fill everything once.
    let batch: Vec<Entry<'_>> = key_refs
        .iter()
        .map(|k| {
            Entry::new(
                Key::new(k).expect("a valid key"),
                value.clone(),
                Expiration::Never,
            )
        })
        .collect();
    store.set_many(&batch).await.expect("the server answers");
    doctrine
        .save_multiple(&entries, Duration::ZERO)
        .await
        .expect("the server answers");
    let ids: Vec<String> = (0..n.max(1)).map(|i| format!("{:0>24}", i)).collect();
    let sessions = session_handlers(&store);
    let profiles = profiles(&store);
    for (profile, pool) in profiles.iter().enumerate() {
        let mut item = pool
            .get_item(&format!("typed.{profile}"))
            .await
            .expect("the server answers");
        item.set_as(&benches::record()).expect("a record");
        pool.save(item).await.expect("the server answers");
    }
    let tagged = cache_pool::TagAwarePool::new(Arc::clone(&store));
    for k in &key_refs {
        let mut item = tagged.get_item(k).await.expect("the server answers");
        item.set(value.clone())
            .tag("products")
            .expect("tag")
            .tag("vendor.7")
            .expect("tag");
        tagged.save(item).await.expect("the server answers");
    }
    let hour = Expiration::After(Duration::from_secs(3600));
    let raw = if op == "raw_session" {
        let url = std::env::var("CACHE_TEST_REDIS_URL").expect("CACHE_TEST_REDIS_URL");
        let client = redis::Client::open(url).expect("a Redis URL");
        Some(
            client
                .get_connection_manager()
                .await
                .expect("the server answers"),
        )
    } else {
        None
    };
    for i in 0..n {
        let k = key_refs[i % 100];
        match op.as_str() {
            "store_get" => drop(
                store
                    .get(Key::new(k).expect("a valid key"))
                    .await
                    .expect("the server answers"),
            ),
            "observed_get" => drop(
                observed
                    .get(Key::new(k).expect("a valid key"))
                    .await
                    .expect("the server answers"),
            ),
            "observed_set" => observed
                .set(Key::new(k).expect("a valid key"), value.clone(), hour)
                .await
                .expect("the server answers"),
            "pool_get" => drop(pool.get_item(k).await.expect("the server answers")),
            "tagged_get" => drop(tagged.get_item(k).await.expect("the server answers")),
            "psr16_get" => drop(psr16.get(k).await.expect("the server answers")),
            "doctrine_get" => drop(doctrine.fetch(k).await.expect("the server answers")),
            "store_set" => store
                .set(Key::new(k).expect("a valid key"), value.clone(), hour)
                .await
                .expect("the server answers"),
            "pool_save" => {
                let mut item = CacheItem::new(k).expect("a valid key");
                item.set(value.clone()).expires(hour);
                pool.save(item).await.expect("the server answers")
            }
            "psr16_set" => psr16
                .set(k, value.clone(), hour)
                .await
                .expect("the server answers"),
            "doctrine_set" => doctrine
                .save(k, value.clone(), Duration::from_secs(3600))
                .await
                .expect("the server answers"),
            "store_get_many" => {
                let ks: Vec<Key<'_>> = key_refs
                    .iter()
                    .map(|k| Key::new(k).expect("a valid key"))
                    .collect();
                drop(store.get_many(&ks).await.expect("the server answers"))
            }
            "pool_get_many" => drop(pool.get_items(&key_refs).await.expect("the server answers")),
            "psr16_get_many" => drop(
                psr16
                    .get_multiple(&key_refs)
                    .await
                    .expect("the server answers"),
            ),
            "doctrine_get_many" => drop(
                doctrine
                    .fetch_multiple(&key_refs)
                    .await
                    .expect("the server answers"),
            ),
            "store_set_many" => {
                let batch: Vec<Entry<'_>> = key_refs
                    .iter()
                    .map(|k| Entry::borrowed(Key::new(k).expect("a valid key"), &value, hour))
                    .collect();
                store
                    .set_many(&batch)
                    .await
                    .expect("the server answers")
                    .into_result()
                    .expect("the server answers")
            }
            "psr16_set_many" => psr16
                .set_multiple(&entries, hour)
                .await
                .expect("the server answers"),
            "doctrine_set_many" => doctrine
                .save_multiple(&entries, Duration::from_secs(3600))
                .await
                .expect("the server answers"),
            "pool_deferred_commit" => {
                for k in &key_refs {
                    let mut item = CacheItem::new(k).expect("a valid key");
                    item.set(value.clone()).expires(hour);
                    pool.save_deferred(item).expect("the server answers");
                }
                pool.commit().await.expect("the server answers")
            }
            "raw_session" => {
                // What a session cycle is to raw redis-rs: GET, then SET EX with 1440 s.
                use redis::AsyncCommands as _;
                let mut connection = raw.clone().expect("a raw connection");
                let key = format!("ab:sess_{}", ids[i]);
                let data: Option<Vec<u8>> = connection.get(&key).await.expect("GET");
                let data = data.unwrap_or_else(|| value.to_vec());
                let () = connection.set_ex(&key, data, 1440).await.expect("SET EX");
            }
            s if s.starts_with("session_") => {
                let h = &sessions[match s {
                    "session_pool" => 0,
                    "session_psr16" => 1,
                    _ => 2,
                }];
                let id = &ids[i];
                let data = h.read(id).await.expect("the server answers");
                h.write(id, if data.is_empty() { value.clone() } else { data })
                    .await
                    .expect("the server answers");
            }
            s if s.starts_with("typed_") => {
                // typed_get_<profile> / typed_set_<profile>: a record through a pool's profile.
                let profile = match s.rsplit('_').next() {
                    Some("msgpack") => 0,
                    Some("igbinary") => 1,
                    _ => 2,
                };
                let pool = &profiles[profile];
                let key = format!("typed.{profile}");
                if s.starts_with("typed_get") {
                    let item = pool.get_item(&key).await.expect("the server answers");
                    drop(item.get_as::<benches::Record>().expect("a record"));
                } else {
                    // A new item's typed values are MessagePack: write with the pool's codec.
                    let mut item = CacheItem::new(&key).expect("a valid key");
                    item.set_as_with(&pool.value_codec(), &benches::record())
                        .expect("a record");
                    pool.save(item).await.expect("the server answers");
                }
            }
            other => panic!("unknown op {other}"),
        }
    }
}

fn session_handlers(store: &Arc<dyn Store>) -> Vec<Arc<dyn SessionHandler>> {
    vec![
        Arc::new(CacheSessionHandler::new(
            Arc::new(Pool::new(Arc::clone(store))),
            SessionOptions::new(),
        )),
        Arc::new(CacheSessionHandler::new(
            Arc::new(Cache::new(Arc::clone(store))),
            SessionOptions::new(),
        )),
        Arc::new(CacheSessionHandler::new(
            Arc::new(CacheProvider::new(Arc::clone(store)).with_namespace("sessions")),
            SessionOptions::new(),
        )),
    ]
}

/// A pool of each format compared: the default (MessagePack in the envelope), and Symfony
/// 5.4's layout with igbinary and with `serialize()`.
fn profiles(store: &Arc<dyn Store>) -> Vec<Pool<Arc<dyn Store>>> {
    use cache_pool::{SymfonyLayout, ValueFormat};
    use php_marshal::Format;
    [
        ValueFormat::default(),
        ValueFormat::symfony(SymfonyLayout::V5_4, Format::Igbinary),
        ValueFormat::symfony(SymfonyLayout::V5_4, Format::Serialize),
    ]
    .into_iter()
    .map(|format| Pool::builder(Arc::clone(store)).format(format).build())
    .collect()
}
