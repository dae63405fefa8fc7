//! Redis: the store and every abstraction beside raw redis-rs on the same kind of connection
//! (a `ConnectionManager`) and the same runtime flavour, in the same groups (listed in
//! `benches::harness`).
//!
//! Needs `CACHE_TEST_REDIS_URL`; without it the groups are skipped with a printed reason.
//! Beyond the shared groups: `redis/php_profile_*` (Symfony's formats) and
//! `redis/php_session_cycle` (phpredis's session layout).
//! Pin client and server to one CPU when comparing (see the README):
//! `taskset -c 0 scripts/test-servers.sh taskset -c 0 cargo bench -p benches --bench redis`.

use std::time::Duration;

use benches::harness::{self, RawClient};
use benches::tasks::{self, TaskClient};
use benches::{criterion, runtime};
use bytes::Bytes;
use cache_pool::{SymfonyLayout, ValueFormat};
use cache_store::redis::RedisStore;
use criterion::{Criterion, criterion_group, criterion_main};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

struct RawRedis(ConnectionManager);

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)
}

impl RawClient for RawRedis {
    fn name(&self) -> &'static str {
        "raw redis-rs"
    }

    async fn get(&self, key: &str) -> Option<Bytes> {
        let mut connection = self.0.clone();
        let value: Option<Vec<u8>> = connection.get(key).await.expect("GET");
        value.map(Bytes::from)
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) {
        let mut connection = self.0.clone();
        let () = redis::cmd("SET")
            .arg(key)
            .arg(&value[..])
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut connection)
            .await
            .expect("SET");
    }

    async fn get_many(&self, keys: &[&str]) -> usize {
        let mut connection = self.0.clone();
        let values: Vec<Option<Vec<u8>>> = connection.mget(keys).await.expect("MGET");
        values.iter().filter(|v| v.is_some()).count()
    }

    async fn set_many(&self, entries: &[(&str, Bytes)], ttl: Duration) {
        let mut connection = self.0.clone();
        let mut pipeline = redis::pipe();
        for (key, value) in entries {
            pipeline
                .cmd("SET")
                .arg(*key)
                .arg(&value[..])
                .arg("PX")
                .arg(millis(ttl))
                .ignore();
        }
        let () = pipeline
            .query_async(&mut connection)
            .await
            .expect("pipelined SET");
    }

    async fn concurrent_gets(&self, keys: &[&str]) -> usize {
        let gets = keys.iter().map(|key| {
            let mut connection = self.0.clone();
            async move {
                let value: Option<Vec<u8>> = connection.get(*key).await.expect("GET");
                value.is_some()
            }
        });
        harness::count_found(gets).await
    }
}

/// The raw multiplexed connection as tasks share it (each clones the handle, as redis-rs
/// intends).
#[derive(Clone)]
struct SharedRedis(ConnectionManager);

impl TaskClient for SharedRedis {
    fn for_task(&self, _task: usize) -> Self {
        self.clone()
    }

    async fn get(&mut self, key: &str) -> bool {
        let value: Option<Vec<u8>> = self.0.get(key).await.expect("GET");
        value.is_some()
    }

    async fn seed(&mut self, keys: &[String]) {
        let entries: Vec<(&str, Bytes)> = keys
            .iter()
            .map(|k| (k.as_str(), benches::value()))
            .collect();
        RawRedis(self.0.clone())
            .set_many(&entries, Duration::from_secs(3600))
            .await;
    }
}

fn bench(c: &mut Criterion) {
    let Some(url) = benches::server_url("CACHE_TEST_REDIS_URL", "redis") else {
        return;
    };
    let rt = runtime();
    let (raw, store) = rt.block_on(async {
        let raw = redis::Client::open(url.as_str())
            .expect("url")
            .get_connection_manager()
            .await
            .expect("raw connection");
        let store = RedisStore::builder(&url)
            .namespace("bench")
            .connect()
            .await
            .expect("store");
        (raw, store)
    });
    harness::run(c, &rt, "redis", store.clone(), RawRedis(raw.clone()), &[]);
    php_profile(c, &rt, &store);
    php_sessions(c, &rt, &url, &raw);
    tasks::run(c, "redis", 2, "raw redis-rs", || async {
        let raw = redis::Client::open(url.as_str())
            .expect("url")
            .get_connection_manager()
            .await
            .expect("raw connection");
        let store = RedisStore::builder(&url)
            .namespace("bench")
            .connect()
            .await
            .expect("store");
        (store, SharedRedis(raw))
    });
}

/// A session cycle (read, then write 1 KiB back with PHP's 1440 s lifetime) on phpredis's
/// keys (`PHPREDIS_SESSION:<id>`): raw redis-rs's GET and SET EX of the key, the
/// [`PhpSessions::Phpredis`] layout without locks (phpredis's default; goal: at most 1.1x
/// raw), and with PHP's lock taken and released around it (what `locking_enabled` costs).
fn php_sessions(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    url: &str,
    raw: &ConnectionManager,
) {
    use std::sync::Arc;

    use session_bridge::{CacheSessionHandler, PhpSessions, SessionHandler, SessionOptions};

    const SESSIONS: usize = 1_000;
    let preset = PhpSessions::Phpredis;
    let (unlocked, locked) = rt.block_on(async {
        let store = cache_store::open(&preset.store_url(url).expect("url"))
            .await
            .expect("store");
        let unlocked = CacheSessionHandler::new(
            Arc::new(simple_cache::Cache::new(store)),
            SessionOptions::new().with_prefix("").expect("no prefix"),
        );
        let locked = preset.open(url).await.expect("handler");
        (unlocked, locked)
    });
    let ids: Vec<String> = (0..SESSIONS).map(|i| format!("{i:0>32}")).collect();
    let data = Bytes::from(vec![b'x'; 1024]);
    rt.block_on(async {
        for id in &ids {
            unlocked.write(id, data.clone()).await.expect("write");
        }
    });
    let lifetime = benches::SESSION_LIFETIME_SECS;
    let at = |i: u64| usize::try_from(i).unwrap_or(0) % SESSIONS;
    let mut group = c.benchmark_group("redis/php_session_cycle");
    let mut i = 0u64;
    group.bench_function("raw redis-rs GET + SET EX", |b| {
        b.to_async(rt).iter(|| {
            i += 1;
            let key = format!("PHPREDIS_SESSION:{}", ids[at(i)]);
            let mut connection = raw.clone();
            async move {
                let data: Option<Vec<u8>> = connection.get(&key).await.expect("GET");
                let () = connection
                    .set_ex(&key, data.unwrap_or_default(), lifetime)
                    .await
                    .expect("SET EX");
            }
        });
    });
    for (name, handler) in [
        ("PhpSessions::Phpredis, no lock", &unlocked),
        ("PhpSessions::Phpredis, PHP's lock", &locked),
    ] {
        let mut i = 0u64;
        group.bench_function(name, |b| {
            b.to_async(rt).iter(|| {
                i += 1;
                let id = &ids[at(i)];
                let request = handler.clone();
                async move {
                    let data = request.read(id).await.expect("read");
                    request.write(id, data).await.expect("write");
                    request.close().await.expect("close");
                }
            });
        });
    }
    group.finish();
}

/// The formats compared: the default, and Symfony 5.4's layout with each marshaller.
fn profiles() -> [(&'static str, ValueFormat); 3] {
    use php_marshal::Format;
    [
        ("PSR-6 Pool, MessagePack (default)", ValueFormat::default()),
        (
            "PSR-6 Pool, Symfony 5.4 igbinary",
            ValueFormat::symfony(SymfonyLayout::V5_4, Format::Igbinary),
        ),
        (
            "PSR-6 Pool, Symfony 5.4 serialize()",
            ValueFormat::symfony(SymfonyLayout::V5_4, Format::Serialize),
        ),
    ]
}

/// Typed reads and writes of a PSR-6 pool through a PHP profile (Symfony 5.4's layout,
/// igbinary and `serialize()`) beside the default codec (MessagePack in the envelope), on one
/// connection: the cost of talking to PHP (goal: at most 1.1x the default).
fn php_profile(c: &mut Criterion, rt: &tokio::runtime::Runtime, store: &RedisStore) {
    use cache_pool::{CacheItem, CacheItemPool, Pool};

    let pool = |format| Pool::builder(store.clone()).format(format).build();
    let mut group = c.benchmark_group("redis/php_profile_get_typed");
    for (i, (name, format)) in profiles().into_iter().enumerate() {
        let (pool, key) = (pool(format), format!("php-profile.{i}"));
        rt.block_on(async {
            let mut item = pool.get_item(&key).await.expect("get_item");
            item.set_as(&benches::record()).expect("a record");
            pool.save(item).await.expect("save");
        });
        group.bench_function(name, |b| {
            b.to_async(rt).iter(|| async {
                let item = pool.get_item(&key).await.expect("get_item");
                item.get_as::<benches::Record>().expect("a record")
            });
        });
    }
    group.finish();
    let mut group = c.benchmark_group("redis/php_profile_set_typed");
    for (i, (name, format)) in profiles().into_iter().enumerate() {
        let (pool, key) = (pool(format), format!("php-profile.{i}"));
        group.bench_function(name, |b| {
            b.to_async(rt).iter(|| async {
                // A new item's typed values are MessagePack: write with the format's codec.
                let mut item = CacheItem::new(&key).expect("key");
                item.set_as_with(&format.codec(), &benches::record())
                    .expect("a record");
                pool.save(item).await.expect("save");
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = bench
}
criterion_main!(benches);
