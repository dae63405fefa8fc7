//! The kit must fail on stores that break the contract: each variant below wraps a correct
//! moka store and breaks one rule, and the property test has to catch it.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use cache_store::moka::MokaStore;
use cache_store::{Entry, Expiration, FailedEntries, Key, ManualClock, Result, Stats, Store};
use cache_testkit::store::{ModelOptions, StoreFactory, check_model};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Bug {
    None,
    /// Writes with an already reached expiration store the value forever.
    ExpiredWritesStoreForever,
    /// `clear` does nothing.
    ClearIsNoOp,
    /// `touch` keeps the old deadline.
    TouchIgnoresExpiration,
    /// `add` overwrites a live entry.
    AddOverwrites,
    /// `get_many` drops the slot of a repeated key.
    GetManyDedupes,
    /// Keys are truncated to 250 bytes, merging long keys.
    TruncatesLongKeys,
}

#[derive(Debug)]
struct Broken {
    inner: MokaStore,
    bug: Bug,
}

impl Broken {
    fn map_key<'a>(&self, key: Key<'a>) -> Key<'a> {
        if self.bug == Bug::TruncatesLongKeys && key.len() > 250 {
            let mut end = 250;
            while !key.as_str().is_char_boundary(end) {
                end -= 1;
            }
            Key::new(&key.as_str()[..end]).expect("a prefix of a valid key is valid")
        } else {
            key
        }
    }
}

#[async_trait]
impl Store for Broken {
    async fn get_many(&self, keys: &[Key<'_>]) -> Result<Vec<Result<Option<Bytes>>>> {
        let mut keys: Vec<Key<'_>> = keys.iter().map(|&k| self.map_key(k)).collect();
        if self.bug == Bug::GetManyDedupes {
            let mut seen = Vec::new();
            keys.retain(|k| {
                let fresh = !seen.contains(k);
                seen.push(*k);
                fresh
            });
        }
        self.inner.get_many(&keys).await
    }

    async fn set_many(&self, entries: &[Entry<'_>]) -> Result<FailedEntries> {
        let entries: Vec<Entry<'_>> = entries
            .iter()
            .map(|e| {
                let mut e = Entry::borrowed(self.map_key(e.key), &e.value, e.expiration);
                if self.bug == Bug::ExpiredWritesStoreForever
                    && matches!(e.expiration, Expiration::After(d) if d.is_zero())
                {
                    e.expiration = Expiration::Never;
                }
                e
            })
            .collect();
        self.inner.set_many(&entries).await
    }

    async fn delete_many(&self, keys: &[Key<'_>]) -> Result<()> {
        let keys: Vec<Key<'_>> = keys.iter().map(|&k| self.map_key(k)).collect();
        self.inner.delete_many(&keys).await
    }

    async fn contains(&self, key: Key<'_>) -> Result<bool> {
        self.inner.contains(self.map_key(key)).await
    }

    async fn add(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<bool> {
        let key = self.map_key(key);
        if self.bug == Bug::AddOverwrites {
            self.inner.set(key, value, expiration).await?;
            return Ok(true);
        }
        self.inner.add(key, value, expiration).await
    }

    async fn touch(&self, key: Key<'_>, expiration: Expiration) -> Result<bool> {
        let key = self.map_key(key);
        if self.bug == Bug::TouchIgnoresExpiration {
            return self.inner.contains(key).await;
        }
        self.inner.touch(key, expiration).await
    }

    async fn clear(&self) -> Result<()> {
        if self.bug == Bug::ClearIsNoOp {
            return Ok(());
        }
        self.inner.clear().await
    }

    async fn stats(&self) -> Result<Stats> {
        self.inner.stats().await
    }

    fn namespace(&self) -> &str {
        self.inner.namespace()
    }
}

struct Factory {
    clock: ManualClock,
    root: MokaStore,
    bug: Bug,
    created: AtomicUsize,
}

impl Factory {
    fn new(bug: Bug) -> Self {
        let clock = ManualClock::starting_now();
        let root = MokaStore::builder()
            .clock(clock.clone())
            .build()
            .expect("moka store");
        Factory {
            clock,
            root,
            bug,
            created: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl StoreFactory for Factory {
    async fn create(&self, namespace: &str) -> Result<Arc<dyn Store>> {
        self.created.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(Broken {
            inner: self.root.with_namespace(namespace)?,
            bug: self.bug,
        }))
    }

    fn clock(&self) -> Option<ManualClock> {
        Some(self.clock.clone())
    }
}

fn model_fails(bug: Bug) -> bool {
    let factory = Factory::new(bug);
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        check_model(&factory, ModelOptions::default());
    }))
    .is_err()
}

#[test]
fn the_correct_store_passes_all_256_sequences() {
    let factory = Factory::new(Bug::None);
    check_model(&factory, ModelOptions::default());
    // Four handles per sequence: proof that every one of the 256 sequences ran.
    assert_eq!(factory.created.load(Ordering::Relaxed), 256 * 4);
}

#[test]
fn each_broken_store_is_caught() {
    for bug in [
        Bug::ExpiredWritesStoreForever,
        Bug::ClearIsNoOp,
        Bug::TouchIgnoresExpiration,
        Bug::AddOverwrites,
        Bug::GetManyDedupes,
        Bug::TruncatesLongKeys,
    ] {
        assert!(model_fails(bug), "the property test missed {bug:?}");
    }
}

#[test]
fn the_contract_cases_catch_a_store_that_ignores_touch() {
    let factory = Factory::new(Bug::TouchIgnoresExpiration);
    let caught = std::panic::catch_unwind(AssertUnwindSafe(|| {
        cache_testkit::block_on(cache_testkit::store::cases::touch_moves_the_deadline(
            &factory,
        ));
    }));
    assert!(caught.is_err());
}
