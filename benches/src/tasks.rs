//! Throughput under concurrency: [`TASKS`] tasks on a multi-threaded runtime, each reading
//! keys in a loop through one shared handle, the raw client first in the same group
//! (`<backend>/32_tasks_<n>_threads`). Each iteration is one round of [`TASKS`] gets, one per
//! task, all in flight together; the tasks keep going for the whole measurement, so what is
//! timed is steady throughput, not task start-up.
//!
//! The handles are made on the runtime that drives them (connections belong to the runtime
//! they were opened on), so each bench file builds its clients inside [`run`]'s `make`.

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cache_pool::{CacheItemPool, Pool};
use cache_store::{Expiration, Key, Store};
use criterion::Criterion;
use simple_cache::{Cache, SimpleCache};
use tokio::runtime::Runtime;

use crate::{ENTRIES, keys, value};

/// Tasks sharing the handle.
pub const TASKS: usize = 32;

/// A client as one of the [`TASKS`] tasks uses it.
pub trait TaskClient: Send + 'static + Sized {
    /// The client of task `task`: a clone of one shared handle, or, for a client that cannot
    /// be shared, that task's own.
    fn for_task(&self, task: usize) -> Self;
    /// Reads `key`; whether it was found.
    fn get(&mut self, key: &str) -> impl Future<Output = bool> + Send;
    /// Writes every one of `keys` (with a 100-byte value and a 1 h lifetime), so that reads
    /// hit (the abstractions' keys are written through the store).
    fn seed(&mut self, keys: &[String]) -> impl Future<Output = ()> + Send {
        let _ = keys;
        async {}
    }
}

/// `Store::get` through a shared handle.
#[derive(Clone)]
struct ViaStore<S>(S);

impl<S: Store + Clone + 'static> TaskClient for ViaStore<S> {
    fn for_task(&self, _task: usize) -> Self {
        self.clone()
    }

    async fn get(&mut self, key: &str) -> bool {
        let key = Key::new(key).expect("key");
        matches!(self.0.get(key).await, Ok(Some(_)))
    }
}

/// PSR-16 `get` through a shared `Cache`.
struct ViaSimpleCache<S: Store>(Arc<Cache<S>>);

impl<S: Store + 'static> TaskClient for ViaSimpleCache<S> {
    fn for_task(&self, _task: usize) -> Self {
        ViaSimpleCache(Arc::clone(&self.0))
    }

    async fn get(&mut self, key: &str) -> bool {
        matches!(self.0.get(key).await, Ok(Some(_)))
    }
}

/// PSR-6 `get_item` through a shared `Pool`.
struct ViaPool<S: Store + 'static>(Arc<Pool<S>>);

impl<S: Store + 'static> TaskClient for ViaPool<S> {
    fn for_task(&self, _task: usize) -> Self {
        ViaPool(Arc::clone(&self.0))
    }

    async fn get(&mut self, key: &str) -> bool {
        matches!(self.0.get_item(key).await, Ok(item) if item.is_hit())
    }
}

/// A multi-threaded runtime with `threads` workers.
pub fn runtime(threads: usize) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Runs `<backend>/32_tasks_<threads>_threads`: `raw` (named `raw_name`) beside the store,
/// PSR-6 and PSR-16 over it, all made by `make` on a runtime of `threads` workers. `raw`
/// finds its keys behind `raw:`, as in the other groups (it writes them in
/// [`TaskClient::seed`]).
pub fn run<S, R, M, F>(c: &mut Criterion, backend: &str, threads: usize, raw_name: &str, make: M)
where
    S: Store + Clone + 'static,
    R: TaskClient,
    M: FnOnce() -> F,
    F: Future<Output = (S, R)>,
{
    let rt = runtime(threads);
    let (store, mut raw) = rt.block_on(make());
    let keys: Arc<[String]> = keys().into();
    let raw_keys: Arc<[String]> = keys.iter().map(|k| format!("raw:{k}")).collect();
    rt.block_on(async {
        for key in keys.iter() {
            let key = Key::new(key).expect("key");
            store
                .set(key, value(), Expiration::After(Duration::from_secs(3600)))
                .await
                .expect("set");
        }
        raw.seed(&raw_keys).await;
    });

    let mut group = c.benchmark_group(format!("{backend}/{TASKS}_tasks_{threads}_threads"));
    group.bench_function(raw_name, |b| {
        b.iter_custom(|rounds| timed_rounds(&rt, &raw, &raw_keys, rounds));
    });
    let via_store = ViaStore(store.clone());
    group.bench_function("Store", |b| {
        b.iter_custom(|rounds| timed_rounds(&rt, &via_store, &keys, rounds));
    });
    let via_pool = ViaPool(Arc::new(Pool::new(store.clone())));
    group.bench_function("PSR-6 Pool", |b| {
        b.iter_custom(|rounds| timed_rounds(&rt, &via_pool, &keys, rounds));
    });
    let via_cache = ViaSimpleCache(Arc::new(Cache::new(store)));
    group.bench_function("PSR-16 Cache", |b| {
        b.iter_custom(|rounds| timed_rounds(&rt, &via_cache, &keys, rounds));
    });
    group.finish();
}

/// [`TASKS`] tasks, each reading `rounds` keys one after the other through its client of
/// `shared`; the time until the last one is done. Every read must hit.
fn timed_rounds<T: TaskClient>(
    rt: &Runtime,
    shared: &T,
    keys: &Arc<[String]>,
    rounds: u64,
) -> Duration {
    let rounds = usize::try_from(rounds).expect("rounds fit a usize");
    let start = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let mut client = shared.for_task(task);
                let keys = Arc::clone(keys);
                tokio::spawn(async move {
                    let mut found = 0;
                    for round in 0..rounds {
                        // Each task walks the keys from its own place.
                        let key = &keys[(task * (ENTRIES / TASKS) + round) % ENTRIES];
                        found += usize::from(client.get(key).await);
                    }
                    found
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(
                black_box(task.await.expect("a task")),
                rounds,
                "every read hits"
            );
        }
    });
    start.elapsed()
}
