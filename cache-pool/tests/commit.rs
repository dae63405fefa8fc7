//! A commit in flight: what readers, deletes, clears, newer saves and other commits see while
//! its batch is being written, and what stays deferred when the write fails or the commit is
//! cancelled.
//!
//! The store is moka behind a gate that holds each `set_many` until the test lets it go, and
//! then fails it or not as the test scripted: the interleavings under test cannot be timed
//! against a real server.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use cache_pool::{CacheItem, CacheItemPool, Pool};
use cache_store::moka::MokaStore;
use cache_store::{
    Clock, Entry, Error, ErrorKind, Expiration, FailedEntries, Key, Result, Stats, Store,
};
use tokio::sync::{Notify, Semaphore};

/// Moka, with each `set_many` held at a gate and then failed or carried out as scripted.
#[derive(Clone, Debug)]
struct Gated {
    inner: MokaStore,
    gate: Arc<Semaphore>,
    entered: Arc<Notify>,
    /// One per `set_many`, in order: `true` fails it. Unscripted calls succeed.
    failures: Arc<Mutex<VecDeque<bool>>>,
    /// Whether scripted failures are ones that trying again cannot mend.
    permanent: Arc<std::sync::atomic::AtomicBool>,
}

impl Gated {
    fn new() -> Self {
        Gated {
            inner: MokaStore::builder().build().expect("moka store"),
            gate: Arc::new(Semaphore::new(0)),
            entered: Arc::new(Notify::new()),
            failures: Arc::default(),
            permanent: Arc::default(),
        }
    }

    fn script(&self, failures: &[bool]) {
        self.failures.lock().expect("script").extend(failures);
    }

    /// Lets `n` held writes go.
    fn open(&self, n: usize) {
        self.gate.add_permits(n);
    }

    async fn stored(&self, key: &str) -> Option<Bytes> {
        let key = Key::new(key).expect("valid key");
        self.inner.get(key).await.expect("moka get")
    }
}

#[async_trait]
impl Store for Gated {
    async fn get_many(&self, keys: &[Key<'_>]) -> Result<Vec<Result<Option<Bytes>>>> {
        self.inner.get_many(keys).await
    }
    async fn set_many(&self, entries: &[Entry<'_>]) -> Result<FailedEntries> {
        self.entered.notify_one();
        self.gate.acquire().await.expect("gate open").forget();
        if self.failures.lock().expect("script").pop_front() == Some(true) {
            let permanent = self.permanent.load(std::sync::atomic::Ordering::Relaxed);
            return Err(
                Error::new(ErrorKind::Unavailable, "scripted failure").with_retryable(!permanent)
            );
        }
        self.inner.set_many(entries).await
    }
    async fn delete_many(&self, keys: &[Key<'_>]) -> Result<()> {
        self.inner.delete_many(keys).await
    }
    async fn contains(&self, key: Key<'_>) -> Result<bool> {
        self.inner.contains(key).await
    }
    async fn add(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<bool> {
        self.inner.add(key, value, expiration).await
    }
    async fn touch(&self, key: Key<'_>, expiration: Expiration) -> Result<bool> {
        self.inner.touch(key, expiration).await
    }
    async fn clear(&self) -> Result<()> {
        self.inner.clear().await
    }
    async fn stats(&self) -> Result<Stats> {
        self.inner.stats().await
    }
    fn namespace(&self) -> &str {
        self.inner.namespace()
    }
    fn clock(&self) -> Arc<dyn Clock> {
        self.inner.clock()
    }
    async fn get(&self, key: Key<'_>) -> Result<Option<Bytes>> {
        self.inner.get(key).await
    }
    async fn delete(&self, key: Key<'_>) -> Result<()> {
        self.inner.delete(key).await
    }
}

fn defer(pool: &Pool<Gated>, key: &str, value: &'static str) {
    let mut item = CacheItem::new(key).expect("valid key");
    item.set(value);
    pool.save_deferred(item).expect("save_deferred");
}

async fn value(pool: &Pool<Gated>, key: &str) -> Option<Bytes> {
    pool.get_item(key).await.expect("get_item").into_value()
}

/// Starts a commit on its own task and returns once its write is held at the gate.
///
/// # Panics
///
/// If the commit ends without writing (a test expecting a write would otherwise hang).
async fn commit_in_flight(
    pool: &Pool<Gated>,
    store: &Gated,
) -> tokio::task::JoinHandle<Result<()>> {
    let entered = store.entered.notified();
    let committing = pool.clone();
    let mut handle = tokio::spawn(async move { committing.commit().await });
    tokio::select! {
        () = entered => handle,
        ended = &mut handle => panic!("the commit ended without a write: {ended:?}"),
    }
}

#[tokio::test]
async fn items_in_flight_stay_deferred_until_written() {
    let store = Gated::new();
    let pool = Pool::new(store.clone());
    defer(&pool, "a", "1");
    defer(&pool, "b", "2");
    let commit = commit_in_flight(&pool, &store).await;

    assert_eq!(pool.pending(), 2);
    assert_eq!(value(&pool, "a").await.as_deref(), Some(&b"1"[..]));
    assert!(pool.has_item("b").await.unwrap());
    assert_eq!(store.stored("a").await, None, "still held at the gate");

    store.open(1);
    commit.await.unwrap().unwrap();
    assert_eq!(pool.pending(), 0);
    assert_eq!(store.stored("a").await.as_deref(), Some(&b"1"[..]));
    assert_eq!(store.stored("b").await.as_deref(), Some(&b"2"[..]));
}

#[tokio::test]
async fn a_failed_commit_keeps_everything_deferred() {
    let store = Gated::new();
    let pool = Pool::new(store.clone());
    store.script(&[true]);
    store.open(2);
    defer(&pool, "a", "1");
    defer(&pool, "b", "2");

    let err = pool.commit().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(pool.pending(), 2);
    assert_eq!(value(&pool, "a").await.as_deref(), Some(&b"1"[..]));
    assert_eq!(store.stored("a").await, None);

    pool.commit().await.unwrap();
    assert_eq!(pool.pending(), 0);
    assert_eq!(store.stored("a").await.as_deref(), Some(&b"1"[..]));
    assert_eq!(store.stored("b").await.as_deref(), Some(&b"2"[..]));
}

/// A store that stays away: the items stay deferred through two failed writes and are
/// dropped at the third, with an error that says so; the pool then works as before.
#[tokio::test]
async fn transient_failures_keep_items_for_three_writes_then_drop_them() {
    let store = Gated::new();
    let pool = Pool::new(store.clone());
    store.script(&[true, true, true]);
    store.open(4);
    defer(&pool, "a", "1");
    defer(&pool, "b", "2");
    for attempt in 1..=2 {
        let err = pool.commit().await.unwrap_err();
        assert!(err.is_retryable(), "attempt {attempt}: {err}");
        assert_eq!(pool.pending(), 2, "attempt {attempt}");
    }
    let err = pool.commit().await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(
        err.to_string().contains("2 deferred items were dropped"),
        "{err}"
    );
    assert_eq!(pool.pending(), 0);
    assert_eq!(value(&pool, "a").await, None);

    defer(&pool, "c", "3");
    pool.commit().await.unwrap();
    assert_eq!(store.stored("c").await.as_deref(), Some(&b"3"[..]));
}

/// A batch that fails in a way trying again cannot mend is dropped at once: it would fail
/// every later commit, and the good items deferred after it with it.
#[tokio::test]
async fn a_failure_that_cannot_mend_drops_the_batch_at_once() {
    let store = Gated::new();
    let pool = Pool::new(store.clone());
    store
        .permanent
        .store(true, std::sync::atomic::Ordering::Relaxed);
    store.script(&[true]);
    store.open(2);
    defer(&pool, "a", "1");
    let err = pool.commit().await.unwrap_err();
    assert!(
        err.to_string().contains("1 deferred items were dropped"),
        "{err}"
    );
    assert_eq!(pool.pending(), 0);

    defer(&pool, "b", "2");
    pool.commit().await.unwrap();
    assert_eq!(store.stored("b").await.as_deref(), Some(&b"2"[..]));
    assert_eq!(store.stored("a").await, None);
}

/// While a batch is in flight, a delete hides its item and a newer save replaces it; when the
/// write then fails, neither old value comes back.
#[tokio::test]
async fn deletes_and_newer_saves_during_a_failed_flight_win() {
    let store = Gated::new();
    let pool = Pool::new(store.clone());
    store.script(&[true]);
    defer(&pool, "a", "1");
    defer(&pool, "b", "2");
    defer(&pool, "c", "3");
    let commit = commit_in_flight(&pool, &store).await;

    pool.delete_item("a").await.unwrap();
    defer(&pool, "b", "new");
    assert_eq!(value(&pool, "a").await, None);
    assert_eq!(value(&pool, "b").await.as_deref(), Some(&b"new"[..]));
    assert_eq!(pool.pending(), 2, "b (once) and c");

    store.open(1);
    assert!(commit.await.unwrap().is_err());
    assert_eq!(pool.pending(), 2);
    assert_eq!(
        value(&pool, "a").await,
        None,
        "a deleted key is not put back"
    );
    assert_eq!(value(&pool, "b").await.as_deref(), Some(&b"new"[..]));
    assert_eq!(value(&pool, "c").await.as_deref(), Some(&b"3"[..]));

    store.open(1);
    pool.commit().await.unwrap();
    assert_eq!(store.stored("a").await, None);
    assert_eq!(store.stored("b").await.as_deref(), Some(&b"new"[..]));
    assert_eq!(store.stored("c").await.as_deref(), Some(&b"3"[..]));
}

#[tokio::test]
async fn a_clear_during_a_flight_drops_it_even_if_the_write_fails() {
    let store = Gated::new();
    let pool = Pool::new(store.clone());
    store.script(&[true]);
    defer(&pool, "a", "1");
    let commit = commit_in_flight(&pool, &store).await;

    pool.clear().await.unwrap();
    assert_eq!(pool.pending(), 0);
    assert_eq!(value(&pool, "a").await, None);

    store.open(1);
    assert!(commit.await.unwrap().is_err());
    assert_eq!(pool.pending(), 0);
    assert_eq!(value(&pool, "a").await, None);
}

#[tokio::test]
async fn a_cancelled_commit_puts_its_items_back() {
    let store = Gated::new();
    let pool = Pool::new(store.clone());
    defer(&pool, "a", "1");
    let commit = commit_in_flight(&pool, &store).await;

    commit.abort();
    assert!(commit.await.unwrap_err().is_cancelled());
    assert_eq!(pool.pending(), 1);
    assert_eq!(value(&pool, "a").await.as_deref(), Some(&b"1"[..]));

    store.open(1);
    pool.commit().await.unwrap();
    assert_eq!(pool.pending(), 0);
    assert_eq!(store.stored("a").await.as_deref(), Some(&b"1"[..]));
}

/// A commit started while another is in flight writes that one's items too: when it returns
/// `Ok`, everything deferred before it started is written, even if the other write fails.
#[tokio::test]
async fn a_commit_writes_what_another_commit_still_carries() {
    let store = Gated::new();
    let pool = Pool::new(store.clone());
    store.script(&[true, false]);
    defer(&pool, "a", "1");
    let first = commit_in_flight(&pool, &store).await;
    defer(&pool, "b", "2");
    let second = commit_in_flight(&pool, &store).await;
    assert_eq!(pool.pending(), 2);

    store.open(2);
    assert!(first.await.unwrap().is_err());
    second.await.unwrap().unwrap();
    assert_eq!(
        pool.pending(),
        0,
        "the failed batch's item was written by the second"
    );
    assert_eq!(store.stored("a").await.as_deref(), Some(&b"1"[..]));
    assert_eq!(store.stored("b").await.as_deref(), Some(&b"2"[..]));
}

/// Random interleavings of deferred saves, deletes, clears, reads and commits, with several
/// commits held in flight at once and each landing written or failed, against a model of
/// what the pool must show (the queue, the flights' visible items, the store).
mod interleavings {
    use std::collections::{BTreeMap, VecDeque};

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        Defer(usize, u8),
        Delete(usize),
        Clear,
        /// Starts a commit whose write will fail (`true`) or not, and leaves it in flight.
        Commit(bool),
        /// Lets the oldest write in flight go and waits for its commit.
        Land,
        Get(usize),
    }

    const KEYS: [&str; 4] = ["a", "b", "c", "d"];

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..KEYS.len(), any::<u8>()).prop_map(|(k, v)| Op::Defer(k, v)),
            1 => (0..KEYS.len()).prop_map(Op::Delete),
            1 => Just(Op::Clear),
            // Failing more often than not, so that items fail three writes in a row too.
            3 => prop_oneof![2 => Just(true), 1 => Just(false)].prop_map(Op::Commit),
            3 => Just(Op::Land),
            3 => (0..KEYS.len()).prop_map(Op::Get),
        ]
    }

    /// A deferred value and how many writes of it failed so far.
    type Deferred = (u8, u8);

    /// A flight as the model sees it: what it writes, what it still shows, how it ends.
    struct ModelFlight {
        written: BTreeMap<usize, Deferred>,
        visible: BTreeMap<usize, Deferred>,
        fails: bool,
        cleared: bool,
    }

    #[derive(Default)]
    struct Model {
        queue: BTreeMap<usize, Deferred>,
        flights: VecDeque<ModelFlight>,
        store: BTreeMap<usize, u8>,
    }

    impl Model {
        fn hide(&mut self, k: usize) {
            for flight in &mut self.flights {
                flight.visible.remove(&k);
            }
        }

        fn get(&self, k: usize) -> Option<u8> {
            self.queue
                .get(&k)
                .or_else(|| self.flights.iter().rev().find_map(|f| f.visible.get(&k)))
                .map(|(v, _)| *v)
                .or_else(|| self.store.get(&k).copied())
        }

        fn pending(&self) -> usize {
            self.queue.len() + self.flights.iter().map(|f| f.visible.len()).sum::<usize>()
        }

        /// A commit takes the queue and what other flights still show; `false` when that is
        /// nothing (no write is made).
        fn launch(&mut self, fails: bool) -> bool {
            let mut items = std::mem::take(&mut self.queue);
            for flight in &mut self.flights {
                items.extend(std::mem::take(&mut flight.visible));
            }
            if items.is_empty() {
                return false;
            }
            self.flights.push_back(ModelFlight {
                written: items.clone(),
                visible: items,
                fails,
                cleared: false,
            });
            true
        }

        /// The oldest flight lands; whether its commit returns `Ok`. A failed (transient)
        /// write puts what it still shows back in the queue, except items whose writes have
        /// now failed three times, which are dropped.
        fn land(&mut self) -> Option<bool> {
            let flight = self.flights.pop_front()?;
            if flight.fails {
                if !flight.cleared {
                    for (k, (v, failures)) in flight.visible {
                        if failures + 1 < 3 {
                            self.queue.insert(k, (v, failures + 1));
                        }
                    }
                }
                Some(false)
            } else {
                // The write reaches the store even for keys deleted or cleared meanwhile: the
                // delete and the commit overlapped, and the write came last.
                self.store
                    .extend(flight.written.into_iter().map(|(k, (v, _))| (k, v)));
                Some(true)
            }
        }
    }

    fn value_of(v: u8) -> Bytes {
        Bytes::from(vec![v])
    }

    async fn run(ops: Vec<Op>) -> std::result::Result<(), TestCaseError> {
        let store = Gated::new();
        let pool = Pool::new(store.clone());
        let mut model = Model::default();
        let mut in_flight: VecDeque<tokio::task::JoinHandle<Result<()>>> = VecDeque::new();
        for (step, op) in ops.iter().enumerate() {
            match *op {
                Op::Defer(k, v) => {
                    let mut item = CacheItem::new(KEYS[k]).expect("valid key");
                    item.set(value_of(v));
                    pool.save_deferred(item).expect("save_deferred");
                    model.hide(k);
                    model.queue.insert(k, (v, 0));
                }
                Op::Delete(k) => {
                    pool.delete_item(KEYS[k]).await.expect("delete_item");
                    model.queue.remove(&k);
                    model.hide(k);
                    model.store.remove(&k);
                }
                Op::Clear => {
                    pool.clear().await.expect("clear");
                    model.queue.clear();
                    for flight in &mut model.flights {
                        flight.visible.clear();
                        flight.cleared = true;
                    }
                    model.store.clear();
                }
                Op::Commit(fails) => {
                    if model.launch(fails) {
                        store.script(&[fails]);
                        in_flight.push_back(commit_in_flight(&pool, &store).await);
                    } else {
                        pool.commit().await.expect("a commit with nothing to write");
                    }
                }
                Op::Land => {
                    if let Some(ok) = model.land() {
                        store.open(1);
                        let handle = in_flight.pop_front().expect("a commit in flight");
                        let result = handle.await.expect("the commit task");
                        prop_assert_eq!(result.is_ok(), ok, "step {}: {:?}", step, op);
                    }
                }
                Op::Get(k) => {
                    let got = pool.get_item(KEYS[k]).await.expect("get_item").into_value();
                    prop_assert_eq!(got, model.get(k).map(value_of), "step {}: {:?}", step, op);
                }
            }
            prop_assert_eq!(pool.pending(), model.pending(), "step {}: {:?}", step, op);
        }
        // Land what is still in flight, then everything must agree.
        while let Some(ok) = model.land() {
            store.open(1);
            let result = in_flight
                .pop_front()
                .expect("in flight")
                .await
                .expect("task");
            prop_assert_eq!(result.is_ok(), ok);
        }
        for (k, key) in KEYS.iter().enumerate() {
            let got = pool.get_item(key).await.expect("get_item").into_value();
            prop_assert_eq!(got, model.get(k).map(value_of), "{}", key);
        }
        prop_assert_eq!(pool.pending(), model.pending());
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn the_pool_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..40)) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            runtime.block_on(run(ops))?;
        }
    }
}
