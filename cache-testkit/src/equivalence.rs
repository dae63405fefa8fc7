//! Every abstraction and bridge behaves the same: one vocabulary of operations, run through
//! each of eight combinations over any store, every answer checked against one reference model.
//!
//! | combination | what answers |
//! |---|---|
//! | [`Combination::SimpleCache`] | PSR-16 `Cache` over the store |
//! | [`Combination::SimpleCacheOverPool`] | PSR-16 bridged over a PSR-6 `Pool` |
//! | [`Combination::Pool`] | PSR-6 `Pool` over the store |
//! | [`Combination::PoolOverSimpleCache`] | PSR-6 bridged over a PSR-16 `Cache` |
//! | [`Combination::DoctrineOverPool`] | Doctrine bridged over a PSR-6 `Pool` |
//! | [`Combination::PoolOverDoctrine`] | PSR-6 bridged over a Doctrine `CacheProvider` |
//! | [`Combination::TagAwarePool`] | PSR-6 `TagAwarePool` over the store |
//! | [`Combination::SimpleCacheOverTagAwarePool`] | PSR-16 bridged over a `TagAwarePool` |
//!
//! The vocabulary has tags: a tagged write and an invalidation. A tag-aware combination
//! drops the items of an invalidated tag, exactly as the model does; the others ignore tags
//! (a PSR-16 write has none, even over a tag-aware pool), and the model with them.
//!
//! Invoke [`equivalence_suite!`](crate::equivalence_suite) with a store factory.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cache_pool::{CacheItem, CacheItemPool, Pool, TagAware, TagAwarePool};
use cache_store::{ErrorKind, Expiration, Result, Store};
use doctrine_compat::{CacheProvider, DoctrineCache, bridge as doctrine_bridge};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use simple_cache::{Cache, SimpleCache, bridge as simple_bridge};

use crate::env::unique_namespace;
use crate::sequences::{call_failed, run_sequences};
use crate::store::{ModelOptions, StoreFactory};

/// Which abstraction, or bridge, answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combination {
    /// PSR-16 `Cache` directly over the store.
    SimpleCache,
    /// PSR-16 over a PSR-6 `Pool` over the store.
    SimpleCacheOverPool,
    /// PSR-6 `Pool` directly over the store.
    Pool,
    /// PSR-6 over a PSR-16 `Cache` over the store.
    PoolOverSimpleCache,
    /// Doctrine over a PSR-6 `Pool` over the store.
    DoctrineOverPool,
    /// PSR-6 over a Doctrine `CacheProvider` over the store.
    PoolOverDoctrine,
    /// PSR-6 `TagAwarePool` over the store: tagged writes, invalidations.
    TagAwarePool,
    /// PSR-16 over a `TagAwarePool` over the store: its writes are untagged, and survive
    /// invalidations.
    SimpleCacheOverTagAwarePool,
}

/// Lifetimes past what some backends can represent: 13 and 100 years, `1e12 s`, `1e17 s`,
/// `Duration::MAX`. Every combination keeps them (as entries without a deadline).
const FAR: [Duration; 5] = [
    Duration::from_secs(13 * 365 * 86_400),
    Duration::from_secs(100 * 365 * 86_400),
    Duration::from_secs(1_000_000_000_000),
    Duration::from_secs(100_000_000_000_000_000),
    Duration::MAX,
];

/// The shared vocabulary's lifetimes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ttl {
    Forever,
    AfterMs(u64),
    /// One of [`FAR`].
    Far(usize),
    /// Already expired: the write deletes.
    Expired,
}

#[derive(Clone, Debug)]
enum Op {
    Get(usize),
    Set(usize, usize, Ttl),
    Delete(usize),
    Has(usize),
    GetMany(Vec<usize>),
    SetMany(Vec<(usize, usize)>, Ttl),
    DeleteMany(Vec<usize>),
    Clear,
    /// A write with tags (of `TAGS`).
    SetTagged(usize, usize, Ttl, Vec<usize>),
    /// Invalidates tags (of `TAGS`).
    InvalidateTags(Vec<usize>),
    /// A call with an invalid key, which every PSR abstraction refuses.
    InvalidKey(usize),
    AdvanceMs(u64),
}

/// The tags of the vocabulary.
const TAGS: [&str; 3] = ["red", "green", "blue"];

/// One answering subject, whatever its abstraction, and what it does with tags.
struct Subject {
    answers: Answers,
    /// Invalidates tags, on a tag-aware combination.
    invalidates: Option<Arc<dyn TagAware>>,
    /// Whether its writes keep their tags.
    tags_writes: bool,
}

enum Answers {
    Simple(Arc<dyn SimpleCache>),
    Pool(Arc<dyn CacheItemPool>),
    Doctrine(Arc<dyn DoctrineCache>),
}

fn expiration(ttl: Ttl) -> Expiration {
    match ttl {
        Ttl::Forever => Expiration::Never,
        Ttl::AfterMs(ms) => Expiration::After(Duration::from_millis(ms)),
        Ttl::Far(i) => Expiration::After(FAR[i]),
        Ttl::Expired => Expiration::After(Duration::ZERO),
    }
}

impl Subject {
    async fn build(store: Arc<dyn Store>, combination: Combination) -> Subject {
        let plain = |answers| Subject {
            answers,
            invalidates: None,
            tags_writes: false,
        };
        match combination {
            Combination::SimpleCache => plain(Answers::Simple(Arc::new(Cache::new(store)))),
            Combination::SimpleCacheOverPool => plain(Answers::Simple(
                simple_bridge::simple_cache_over_pool(Arc::new(Pool::new(store))),
            )),
            Combination::Pool => plain(Answers::Pool(Arc::new(Pool::new(store)))),
            Combination::PoolOverSimpleCache => plain(Answers::Pool(
                simple_bridge::pool_over_simple_cache(Arc::new(Cache::new(store))),
            )),
            Combination::DoctrineOverPool => plain(Answers::Doctrine(
                doctrine_bridge::doctrine_over_pool(Arc::new(Pool::new(store))),
            )),
            Combination::PoolOverDoctrine => plain(Answers::Pool(
                doctrine_bridge::pool_over_doctrine(Arc::new(CacheProvider::new(store))),
            )),
            Combination::TagAwarePool => {
                let pool = Arc::new(TagAwarePool::new(store));
                Subject {
                    answers: Answers::Pool(Arc::clone(&pool) as Arc<dyn CacheItemPool>),
                    invalidates: Some(pool),
                    tags_writes: true,
                }
            }
            Combination::SimpleCacheOverTagAwarePool => {
                let pool = Arc::new(TagAwarePool::new(store));
                Subject {
                    answers: Answers::Simple(simple_bridge::simple_cache_over_pool(
                        Arc::clone(&pool) as Arc<dyn cache_pool::PoolValues>,
                    )),
                    invalidates: Some(pool),
                    tags_writes: false,
                }
            }
        }
    }

    /// A write with `tags`: kept by a tag-aware pool, a plain write for the others.
    async fn set_tagged(&self, key: &str, value: Bytes, ttl: Ttl, tags: &[usize]) -> Result<()> {
        match (&self.answers, self.tags_writes) {
            (Answers::Pool(p), true) => {
                let mut item = CacheItem::new(key)?;
                item.set(value).expires(expiration(ttl));
                for &tag in tags {
                    item.tag(TAGS[tag])?;
                }
                p.save(item).await
            }
            _ => self.set(key, value, ttl).await,
        }
    }

    async fn invalidate(&self, tags: &[usize]) -> Result<()> {
        match &self.invalidates {
            Some(invalidates) => {
                let tags: Vec<&str> = tags.iter().map(|&t| TAGS[t]).collect();
                invalidates.invalidate_tags(&tags).await
            }
            None => Ok(()),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        match &self.answers {
            Answers::Simple(c) => c.get(key).await,
            Answers::Pool(p) => {
                let item = p.get_item(key).await?;
                Ok(if item.is_hit() {
                    item.into_value()
                } else {
                    None
                })
            }
            Answers::Doctrine(d) => d.fetch(key).await,
        }
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Ttl) -> Result<()> {
        match &self.answers {
            Answers::Simple(c) => c.set(key, value, expiration(ttl)).await,
            Answers::Pool(p) => {
                let mut item = CacheItem::new(key)?;
                item.set(value).expires(expiration(ttl));
                p.save(item).await
            }
            // Doctrine has no "already expired" lifetime: writing one means deleting.
            Answers::Doctrine(d) => match ttl {
                Ttl::Forever => d.save(key, value, Duration::ZERO).await,
                Ttl::AfterMs(ms) => d.save(key, value, Duration::from_millis(ms)).await,
                Ttl::Far(i) => d.save(key, value, FAR[i]).await,
                Ttl::Expired => d.delete(key).await,
            },
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match &self.answers {
            Answers::Simple(c) => c.delete(key).await,
            Answers::Pool(p) => p.delete_item(key).await,
            Answers::Doctrine(d) => d.delete(key).await,
        }
    }

    async fn has(&self, key: &str) -> Result<bool> {
        match &self.answers {
            Answers::Simple(c) => c.has(key).await,
            Answers::Pool(p) => p.has_item(key).await,
            Answers::Doctrine(d) => d.contains(key).await,
        }
    }

    /// One answer per key asked, in order.
    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        match &self.answers {
            Answers::Simple(c) => c.get_multiple(keys).await,
            Answers::Pool(p) => {
                let items = p.get_items(keys).await?;
                let found: HashMap<&str, Option<Bytes>> = items
                    .iter()
                    .map(|i| (i.key(), if i.is_hit() { i.value().cloned() } else { None }))
                    .collect();
                Ok(keys
                    .iter()
                    .map(|k| found.get(k).cloned().flatten())
                    .collect())
            }
            Answers::Doctrine(d) => {
                let found = d.fetch_multiple(keys).await?;
                Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
            }
        }
    }

    async fn set_many(&self, values: &[(&str, Bytes)], ttl: Ttl) -> Result<()> {
        match &self.answers {
            Answers::Simple(c) => c.set_multiple(values, expiration(ttl)).await,
            Answers::Pool(p) => {
                for (key, value) in values {
                    let mut item = CacheItem::new(key)?;
                    item.set(value.clone()).expires(expiration(ttl));
                    p.save_deferred(item)?;
                }
                p.commit().await
            }
            Answers::Doctrine(d) => match ttl {
                Ttl::Forever => d.save_multiple(values, Duration::ZERO).await,
                Ttl::AfterMs(ms) => d.save_multiple(values, Duration::from_millis(ms)).await,
                Ttl::Far(i) => d.save_multiple(values, FAR[i]).await,
                Ttl::Expired => {
                    let keys: Vec<&str> = values.iter().map(|(k, _)| *k).collect();
                    d.delete_multiple(&keys).await
                }
            },
        }
    }

    async fn delete_many(&self, keys: &[&str]) -> Result<()> {
        match &self.answers {
            Answers::Simple(c) => c.delete_multiple(keys).await,
            Answers::Pool(p) => p.delete_items(keys).await,
            Answers::Doctrine(d) => d.delete_multiple(keys).await,
        }
    }

    async fn clear(&self) -> Result<()> {
        match &self.answers {
            Answers::Simple(c) => c.clear().await,
            Answers::Pool(p) => p.clear().await,
            Answers::Doctrine(d) => d.delete_all().await,
        }
    }

    /// Doctrine ids may be any string; only the PSR abstractions refuse keys.
    fn refuses_invalid_keys(&self) -> bool {
        !matches!(self.answers, Answers::Doctrine(_))
    }
}

#[derive(Clone)]
struct Case {
    keys: Vec<String>,
    values: Vec<Bytes>,
    ops: Vec<Op>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "keys: {:?}", self.keys)?;
        writeln!(f, "values: {:?}", self.values)?;
        writeln!(f, "operations:")?;
        for op in &self.ops {
            writeln!(f, "  {op:?}")?;
        }
        Ok(())
    }
}

const KEYS: usize = 6;
const VALUES: usize = 4;

fn strategy(with_clock: bool, max_ops: usize) -> impl Strategy<Value = Case> {
    let keys = crate::store::keys::key_slots(3, KEYS - 3, 24);
    let values = crate::store::keys::value_slots(VALUES, 24);
    let far = (0..FAR.len()).prop_map(Ttl::Far);
    let ttl = if with_clock {
        // Near lifetimes (a few milliseconds) only where the clock is the kit's: on a
        // server's own clock they would race the reads.
        prop_oneof![
            3 => Just(Ttl::Forever),
            1 => Just(Ttl::Expired),
            3 => (1u64..5_000).prop_map(Ttl::AfterMs),
            1 => (1u64..=10).prop_map(Ttl::AfterMs),
            1 => far,
        ]
        .boxed()
    } else {
        prop_oneof![
            3 => Just(Ttl::Forever),
            1 => Just(Ttl::Expired),
            2 => Just(Ttl::AfterMs(3_600_000)),
            1 => far,
        ]
        .boxed()
    };
    let k = 0..KEYS;
    let ks = proptest::collection::vec(0..KEYS, 0..5);
    let tags = proptest::collection::vec(0..TAGS.len(), 0..3);
    let op = prop_oneof![
        4 => k.clone().prop_map(Op::Get),
        4 => (k.clone(), 0..VALUES, ttl.clone()).prop_map(|(k, v, t)| Op::Set(k, v, t)),
        2 => k.clone().prop_map(Op::Delete),
        2 => k.clone().prop_map(Op::Has),
        2 => ks.clone().prop_map(Op::GetMany),
        2 => (proptest::collection::vec((0..KEYS, 0..VALUES), 0..5), ttl.clone())
            .prop_map(|(es, t)| Op::SetMany(es, t)),
        1 => ks.prop_map(Op::DeleteMany),
        1 => Just(Op::Clear),
        3 => (k.clone(), 0..VALUES, ttl.clone(), tags.clone())
            .prop_map(|(k, v, t, tags)| Op::SetTagged(k, v, t, tags)),
        2 => proptest::collection::vec(0..TAGS.len(), 1..3).prop_map(Op::InvalidateTags),
        1 => (0..crate::pool::cases::INVALID_KEYS.len()).prop_map(Op::InvalidKey),
    ];
    let op = if with_clock {
        prop_oneof![10 => op, 2 => (1u64..4_000).prop_map(Op::AdvanceMs)].boxed()
    } else {
        op.boxed()
    };
    (keys, values, proptest::collection::vec(op, 1..=max_ops))
        .prop_map(|(keys, values, ops)| Case { keys, values, ops })
}

#[derive(Default)]
struct Model {
    now_ms: u64,
    map: HashMap<usize, (Bytes, Option<u64>)>,
    /// The tags each key was last written with.
    tags: HashMap<usize, Vec<usize>>,
}

impl Model {
    fn get(&self, k: usize) -> Option<Bytes> {
        self.map
            .get(&k)
            .filter(|(_, d)| d.is_none_or(|d| d > self.now_ms))
            .map(|(v, _)| v.clone())
    }

    fn set(&mut self, k: usize, v: Bytes, ttl: Ttl) {
        self.tags.remove(&k);
        match ttl {
            // A far lifetime is no deadline: see `Expiration`'s rule.
            Ttl::Forever | Ttl::Far(_) => {
                self.map.insert(k, (v, None));
            }
            Ttl::AfterMs(ms) => {
                self.map.insert(k, (v, Some(self.now_ms + ms)));
            }
            Ttl::Expired => {
                self.map.remove(&k);
            }
        }
    }
}

/// Runs the equivalence property test of `combination` over stores from `factory`: random
/// sequences of the shared vocabulary, every answer checked against the reference model.
///
/// # Panics
///
/// When the combination disagrees with the model; the panic prints the shrunk sequence.
pub fn check_equivalence<F: StoreFactory + ?Sized>(
    factory: &F,
    combination: Combination,
    options: ModelOptions,
) {
    let subject = format!("{combination:?} combination");
    run_sequences(
        &subject,
        &options,
        strategy(factory.clock().is_some(), options.max_ops.max(1)),
        |case| async move { run(factory, combination, &case).await },
    );
}

async fn run<F: StoreFactory + ?Sized>(
    factory: &F,
    combination: Combination,
    case: &Case,
) -> std::result::Result<(), TestCaseError> {
    let store = factory
        .create(&unique_namespace("equivalence"))
        .await
        .map_err(call_failed)?;
    let subject = Subject::build(store, combination).await;
    let clock = factory.clock();
    let mut model = Model::default();
    let key = |k: usize| case.keys[k].as_str();
    for (step, op) in case.ops.iter().enumerate() {
        let context = || format!("step {step}: {op:?}");
        match op {
            Op::Get(k) => {
                let got = subject.get(key(*k)).await.map_err(call_failed)?;
                prop_assert_eq!(got, model.get(*k), "{}", context());
            }
            Op::Set(k, v, ttl) => {
                let value = case.values[*v].clone();
                subject
                    .set(key(*k), value.clone(), *ttl)
                    .await
                    .map_err(call_failed)?;
                model.set(*k, value, *ttl);
            }
            Op::Delete(k) => {
                subject.delete(key(*k)).await.map_err(call_failed)?;
                model.map.remove(k);
            }
            Op::Has(k) => {
                let got = subject.has(key(*k)).await.map_err(call_failed)?;
                prop_assert_eq!(got, model.get(*k).is_some(), "{}", context());
            }
            Op::GetMany(ks) => {
                let asked: Vec<&str> = ks.iter().map(|&k| key(k)).collect();
                let got = subject.get_many(&asked).await.map_err(call_failed)?;
                let want: Vec<Option<Bytes>> = ks.iter().map(|&k| model.get(k)).collect();
                prop_assert_eq!(got, want, "{}", context());
            }
            Op::SetMany(entries, ttl) => {
                let values: Vec<(&str, Bytes)> = entries
                    .iter()
                    .map(|&(k, v)| (key(k), case.values[v].clone()))
                    .collect();
                subject.set_many(&values, *ttl).await.map_err(call_failed)?;
                for &(k, v) in entries {
                    model.set(k, case.values[v].clone(), *ttl);
                }
            }
            Op::DeleteMany(ks) => {
                let asked: Vec<&str> = ks.iter().map(|&k| key(k)).collect();
                subject.delete_many(&asked).await.map_err(call_failed)?;
                for k in ks {
                    model.map.remove(k);
                }
            }
            Op::Clear => {
                subject.clear().await.map_err(call_failed)?;
                model.map.clear();
            }
            Op::SetTagged(k, v, ttl, tags) => {
                let value = case.values[*v].clone();
                subject
                    .set_tagged(key(*k), value.clone(), *ttl, tags)
                    .await
                    .map_err(call_failed)?;
                model.set(*k, value, *ttl);
                if subject.tags_writes {
                    model.tags.insert(*k, tags.clone());
                }
            }
            Op::InvalidateTags(tags) => {
                subject.invalidate(tags).await.map_err(call_failed)?;
                if subject.invalidates.is_some() {
                    let dropped: Vec<usize> = model
                        .tags
                        .iter()
                        .filter(|(_, kept)| kept.iter().any(|t| tags.contains(t)))
                        .map(|(&k, _)| k)
                        .collect();
                    for k in dropped {
                        model.map.remove(&k);
                        model.tags.remove(&k);
                    }
                }
            }
            Op::InvalidKey(i) => {
                let bad = crate::pool::cases::INVALID_KEYS[*i];
                let got = subject.get(bad).await;
                if subject.refuses_invalid_keys() {
                    prop_assert!(
                        matches!(&got, Err(e) if e.kind() == ErrorKind::InvalidKey),
                        "{}: {:?} must be refused, got {:?}",
                        context(),
                        bad,
                        got
                    );
                } else {
                    // Doctrine stores any id: one never written reads as absent.
                    prop_assert_eq!(got.map_err(call_failed)?, None, "{}", context());
                }
            }
            Op::AdvanceMs(ms) => {
                if let Some(clock) = &clock {
                    clock.advance(Duration::from_millis(*ms));
                    model.now_ms += ms;
                }
            }
        }
    }
    Ok(())
}
