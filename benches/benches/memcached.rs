//! memcached: `MemcachedStore` and every abstraction over it beside async-memcached, the
//! reference raw async client, in the same groups (listed in `benches::harness`).
//!
//! async-memcached takes `&mut self`: its side locks its client per call (an uncontended
//! async mutex, tens of nanoseconds), and for 32 concurrent tasks gets one client per task,
//! while `MemcachedStore` shares one handle. The read groups also measure the store with
//! `token_refresh` of 1 s (reads trust the namespace token for a second).
//!
//! Needs `CACHE_TEST_MEMCACHED_URL`; without it the groups are skipped with a printed reason.
//! `taskset -c 0 scripts/test-servers.sh taskset -c 0 cargo bench -p benches --bench memcached`.

use std::time::Duration;

use async_memcached::{AsciiProtocol, Client};
use benches::harness::{self, CONCURRENT, RawClient};
use benches::tasks::{self, TaskClient};
use benches::{criterion, runtime};
use bytes::Bytes;
use cache_store::memcached::MemcachedStore;
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::sync::Mutex;

struct RawMemcached {
    clients: Vec<Mutex<Client>>,
}

fn seconds(ttl: Duration) -> Option<i64> {
    Some(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX))
}

impl RawClient for RawMemcached {
    fn name(&self) -> &'static str {
        "async-memcached"
    }

    async fn get(&self, key: &str) -> Option<Bytes> {
        let value = self.clients[0].lock().await.get(key).await.expect("get");
        value.and_then(|v| v.data).map(Bytes::from)
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) {
        self.clients[0]
            .lock()
            .await
            .set(key, &value[..], seconds(ttl), None)
            .await
            .expect("set");
    }

    async fn get_many(&self, keys: &[&str]) -> usize {
        let values = self.clients[0]
            .lock()
            .await
            .get_multi(keys)
            .await
            .expect("get_multi");
        values.len()
    }

    async fn set_many(&self, entries: &[(&str, Bytes)], ttl: Duration) {
        let pairs: Vec<(&str, &[u8])> = entries.iter().map(|(k, v)| (*k, &v[..])).collect();
        self.clients[0]
            .lock()
            .await
            .set_multi(&pairs, seconds(ttl), None)
            .await
            .expect("set_multi");
    }

    async fn concurrent_gets(&self, keys: &[&str]) -> usize {
        let gets = keys
            .iter()
            .zip(&self.clients)
            .map(|(key, client)| async move {
                let value = client.lock().await.get(key).await.expect("get");
                value.is_some()
            });
        harness::count_found(gets).await
    }
}

/// async-memcached as tasks use it: it takes `&mut self`, so each task has its own client.
struct TaskMemcached {
    clients: std::sync::Arc<Vec<Mutex<Client>>>,
    task: usize,
}

impl TaskClient for TaskMemcached {
    fn for_task(&self, task: usize) -> Self {
        TaskMemcached {
            clients: std::sync::Arc::clone(&self.clients),
            task,
        }
    }

    async fn get(&mut self, key: &str) -> bool {
        let mut client = self.clients[self.task].lock().await;
        client.get(key).await.expect("get").is_some()
    }

    async fn seed(&mut self, keys: &[String]) {
        let mut client = self.clients[0].lock().await;
        for key in keys {
            client
                .set(
                    key,
                    &benches::value()[..],
                    seconds(Duration::from_secs(3600)),
                    None,
                )
                .await
                .expect("set");
        }
    }
}

/// One async-memcached client per task, on the runtime that calls this.
async fn connect_clients(address: &str) -> Vec<Mutex<Client>> {
    let mut clients = Vec::new();
    for _ in 0..CONCURRENT {
        let client = Client::new(format!("tcp://{address}"))
            .await
            .expect("async-memcached client");
        clients.push(Mutex::new(client));
    }
    clients
}

fn bench(c: &mut Criterion) {
    let Some(url) = benches::server_url("CACHE_TEST_MEMCACHED_URL", "memcached") else {
        return;
    };
    let address = url
        .trim_start_matches("memcache://")
        .split(',')
        .next()
        .unwrap_or_default()
        .to_owned();
    let rt = runtime();
    let clients = rt.block_on(connect_clients(&address));
    let store = |refresh: Duration| {
        MemcachedStore::builder(&url)
            .namespace("bench")
            .token_refresh(refresh)
            .build()
            .expect("store")
    };
    harness::run(
        c,
        &rt,
        "memcached",
        store(Duration::ZERO),
        RawMemcached { clients },
        &[("token_refresh 1 s", store(Duration::from_secs(1)))],
    );
    tasks::run(c, "memcached", 2, "async-memcached", || async {
        let clients = std::sync::Arc::new(connect_clients(&address).await);
        (store(Duration::ZERO), TaskMemcached { clients, task: 0 })
    });
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = bench
}
criterion_main!(benches);
