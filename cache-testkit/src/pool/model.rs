//! The model-based property test of PSR-6 pools: random sequences of item operations,
//! deferred saves and commits through two pools sharing a namespace (so each has its own
//! deferred queue over one storage), checked against a reference model after every step.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use cache_pool::CacheItemPool;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::sequences::call_failed;

use super::PoolFactory;
use crate::env::unique_namespace;
use crate::store::ModelOptions;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exp {
    /// No expiry set (the pool has no default lifetime).
    Unset,
    Never,
    AfterMs(u64),
    AfterHour,
    /// `expires_after(0)`: already expired.
    Zero,
    /// `expires_at(1970)`: already expired.
    Past,
}

#[derive(Clone, Debug)]
enum Op {
    GetItem(usize, usize),
    GetItems(usize, Vec<usize>),
    HasItem(usize, usize),
    Save(usize, usize, usize, Exp),
    SaveDeferred(usize, usize, usize, Exp),
    Commit(usize),
    DeleteItem(usize, usize),
    DeleteItems(usize, Vec<usize>),
    Clear(usize),
    AdvanceMs(u64),
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
        writeln!(f, "operations (first field: pool 0 or 1):")?;
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
    let common = prop_oneof![
        2 => Just(Exp::Unset),
        2 => Just(Exp::Never),
        2 => Just(Exp::AfterHour),
        1 => Just(Exp::Zero),
        1 => Just(Exp::Past),
    ];
    let exp = if with_clock {
        prop_oneof![3 => common, 2 => (1u64..5_000).prop_map(Exp::AfterMs)].boxed()
    } else {
        common.boxed()
    };
    let pool = 0..2usize;
    let key = 0..KEYS;
    let ks = proptest::collection::vec(0..KEYS, 0..5);
    let op = prop_oneof![
        4 => (pool.clone(), key.clone()).prop_map(|(p, k)| Op::GetItem(p, k)),
        2 => (pool.clone(), ks.clone()).prop_map(|(p, ks)| Op::GetItems(p, ks)),
        2 => (pool.clone(), key.clone()).prop_map(|(p, k)| Op::HasItem(p, k)),
        3 => (pool.clone(), key.clone(), 0..VALUES, exp.clone()).prop_map(|(p, k, v, e)| Op::Save(p, k, v, e)),
        4 => (pool.clone(), key.clone(), 0..VALUES, exp).prop_map(|(p, k, v, e)| Op::SaveDeferred(p, k, v, e)),
        2 => pool.clone().prop_map(Op::Commit),
        2 => (pool.clone(), key).prop_map(|(p, k)| Op::DeleteItem(p, k)),
        1 => (pool.clone(), ks).prop_map(|(p, ks)| Op::DeleteItems(p, ks)),
        1 => pool.prop_map(Op::Clear),
    ];
    let op = if with_clock {
        prop_oneof![10 => op, 2 => (1u64..4_000).prop_map(Op::AdvanceMs)].boxed()
    } else {
        op.boxed()
    };
    (keys, values, proptest::collection::vec(op, 1..=max_ops))
        .prop_map(|(keys, values, ops)| Case { keys, values, ops })
}

/// A value with its deadline in model milliseconds (`None`: none).
type Slot = (Bytes, Option<u64>);

struct Model {
    now_ms: u64,
    stored: HashMap<usize, Slot>,
    deferred: [HashMap<usize, Slot>; 2],
}

impl Model {
    /// The deadline for an expiration set now; `Err` when already expired.
    fn deadline(&self, exp: Exp) -> Result<Option<u64>, ()> {
        match exp {
            Exp::Unset | Exp::Never => Ok(None),
            Exp::AfterMs(ms) => Ok(Some(self.now_ms + ms)),
            Exp::AfterHour => Ok(Some(self.now_ms + 3_600_000)),
            Exp::Zero | Exp::Past => Err(()),
        }
    }

    fn live(&self, slot: Option<&Slot>) -> Option<Bytes> {
        slot.filter(|(_, d)| d.is_none_or(|d| d > self.now_ms))
            .map(|(v, _)| v.clone())
    }

    fn get(&self, pool: usize, k: usize) -> Option<Bytes> {
        match self.deferred[pool].get(&k) {
            Some(slot) => self.live(Some(slot)),
            None => self.live(self.stored.get(&k)),
        }
    }

    fn defer(&mut self, pool: usize, k: usize, v: Bytes, exp: Exp) {
        // An already expired item is queued as such: it hides the stored value until the
        // commit deletes it.
        let deadline = self.deadline(exp).unwrap_or(Some(self.now_ms));
        self.deferred[pool].insert(k, (v, deadline));
    }

    fn commit(&mut self, pool: usize) {
        for (k, slot) in std::mem::take(&mut self.deferred[pool]) {
            if self.live(Some(&slot)).is_some() {
                self.stored.insert(k, slot);
            } else {
                self.stored.remove(&k);
            }
        }
    }
}

/// Runs the model-based property test of PSR-6 pools from `factory`.
///
/// # Panics
///
/// When a pool disagrees with the model; the panic prints the shrunk failing sequence.
pub fn check_pool_model<F: PoolFactory + ?Sized>(factory: &F, options: ModelOptions) {
    crate::sequences::run_sequences(
        "pool",
        &options,
        strategy(factory.clock().is_some(), options.max_ops.max(1)),
        |case| async move { run(factory, &case).await },
    );
}

async fn run<F: PoolFactory + ?Sized>(factory: &F, case: &Case) -> Result<(), TestCaseError> {
    let clock = factory.clock();
    let namespace = unique_namespace("psr6-model");
    let pools: [Arc<dyn CacheItemPool>; 2] = [
        factory
            .create(&namespace, None)
            .await
            .map_err(call_failed)?,
        factory
            .create(&namespace, None)
            .await
            .map_err(call_failed)?,
    ];
    let mut model = Model {
        now_ms: 0,
        stored: HashMap::new(),
        deferred: [HashMap::new(), HashMap::new()],
    };
    let key = |k: usize| case.keys[k].as_str();
    for (step, op) in case.ops.iter().enumerate() {
        let context = || format!("step {step}: {op:?}");
        match op {
            Op::GetItem(p, k) => {
                let item = pools[*p].get_item(key(*k)).await.map_err(call_failed)?;
                prop_assert_eq!(item.key(), key(*k), "{}", context());
                let want = model.get(*p, *k);
                prop_assert_eq!(item.is_hit(), want.is_some(), "{}", context());
                prop_assert_eq!(item.value().cloned(), want, "{}", context());
            }
            Op::GetItems(p, ks) => {
                let asked: Vec<&str> = ks.iter().map(|&k| key(k)).collect();
                let items = pools[*p].get_items(&asked).await.map_err(call_failed)?;
                let mut distinct: Vec<usize> = Vec::new();
                for &k in ks {
                    if !distinct.contains(&k) {
                        distinct.push(k);
                    }
                }
                prop_assert_eq!(items.len(), distinct.len(), "{}", context());
                for (item, &k) in items.iter().zip(&distinct) {
                    prop_assert_eq!(item.key(), key(k), "{}", context());
                    prop_assert_eq!(item.value().cloned(), model.get(*p, k), "{}", context());
                }
            }
            Op::HasItem(p, k) => {
                let got = pools[*p].has_item(key(*k)).await.map_err(call_failed)?;
                prop_assert_eq!(got, model.get(*p, *k).is_some(), "{}", context());
            }
            Op::Save(p, k, v, exp) | Op::SaveDeferred(p, k, v, exp) => {
                let mut item = pools[*p].get_item(key(*k)).await.map_err(call_failed)?;
                item.set(case.values[*v].clone());
                match exp {
                    Exp::Unset => {}
                    Exp::Never => {
                        item.never_expires();
                    }
                    Exp::AfterMs(ms) => {
                        item.expires_after(Some(Duration::from_millis(*ms)));
                    }
                    Exp::AfterHour => {
                        item.expires_after(Some(Duration::from_secs(3600)));
                    }
                    Exp::Zero => {
                        item.expires_after(Some(Duration::ZERO));
                    }
                    Exp::Past => {
                        item.expires_at(Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1)));
                    }
                }
                model.defer(*p, *k, case.values[*v].clone(), *exp);
                if matches!(op, Op::Save(..)) {
                    pools[*p].save(item).await.map_err(call_failed)?;
                    model.commit(*p);
                } else {
                    pools[*p].save_deferred(item).map_err(call_failed)?;
                }
            }
            Op::Commit(p) => {
                pools[*p].commit().await.map_err(call_failed)?;
                model.commit(*p);
            }
            Op::DeleteItem(p, k) => {
                pools[*p].delete_item(key(*k)).await.map_err(call_failed)?;
                model.deferred[*p].remove(k);
                model.stored.remove(k);
            }
            Op::DeleteItems(p, ks) => {
                let asked: Vec<&str> = ks.iter().map(|&k| key(k)).collect();
                pools[*p].delete_items(&asked).await.map_err(call_failed)?;
                for k in ks {
                    model.deferred[*p].remove(k);
                    model.stored.remove(k);
                }
            }
            Op::Clear(p) => {
                pools[*p].clear().await.map_err(call_failed)?;
                model.deferred[*p].clear();
                model.stored.clear();
            }
            Op::AdvanceMs(ms) => {
                if let Some(clock) = &clock {
                    clock.advance(Duration::from_millis(*ms));
                    model.now_ms += ms;
                }
            }
        }
    }
    // Commit what is left so the pools do not warn about dropped deferred items.
    for pool in &pools {
        pool.commit().await.map_err(call_failed)?;
    }
    Ok(())
}
