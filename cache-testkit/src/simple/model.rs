//! The model-based property test of PSR-16 caches: random sequences through two caches on one
//! namespace, checked against a reference model after every step.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cache_store::Expiration;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::sequences::call_failed;
use simple_cache::SimpleCache;

use super::SimpleCacheFactory;
use crate::env::unique_namespace;
use crate::store::ModelOptions;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ttl {
    Null,
    Seconds(i64),
    AfterMs(u64),
}

impl Ttl {
    fn expiration(self) -> Expiration {
        match self {
            Ttl::Null => Expiration::Default,
            Ttl::Seconds(s) => simple_cache::ttl_seconds(s),
            Ttl::AfterMs(ms) => Expiration::After(Duration::from_millis(ms)),
        }
    }

    /// The deadline in model milliseconds: `Err` when already expired, `Ok(None)` for none.
    fn deadline(self, now_ms: u64) -> Result<Option<u64>, ()> {
        match self {
            Ttl::Null => Ok(None),
            Ttl::Seconds(s) if s <= 0 => Err(()),
            Ttl::Seconds(s) => Ok(Some(now_ms + s.unsigned_abs() * 1000)),
            Ttl::AfterMs(ms) => Ok(Some(now_ms + ms)),
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Get(usize, usize),
    GetMultiple(usize, Vec<usize>),
    Set(usize, usize, usize, Ttl),
    SetMultiple(usize, Vec<(usize, usize)>, Ttl),
    Delete(usize, usize),
    DeleteMultiple(usize, Vec<usize>),
    Has(usize, usize),
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
        writeln!(f, "operations (first field: cache 0 or 1):")?;
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
    let ttl = if with_clock {
        prop_oneof![
            2 => Just(Ttl::Null),
            1 => (-2i64..=0).prop_map(Ttl::Seconds),
            2 => (1i64..4).prop_map(Ttl::Seconds),
            2 => (1u64..5_000).prop_map(Ttl::AfterMs),
        ]
        .boxed()
    } else {
        prop_oneof![
            2 => Just(Ttl::Null),
            1 => (-2i64..=0).prop_map(Ttl::Seconds),
            2 => Just(Ttl::Seconds(3600)),
        ]
        .boxed()
    };
    let c = 0..2usize;
    let k = 0..KEYS;
    let ks = proptest::collection::vec(0..KEYS, 0..5);
    let op = prop_oneof![
        4 => (c.clone(), k.clone()).prop_map(|(c, k)| Op::Get(c, k)),
        3 => (c.clone(), ks.clone()).prop_map(|(c, ks)| Op::GetMultiple(c, ks)),
        4 => (c.clone(), k.clone(), 0..VALUES, ttl.clone()).prop_map(|(c, k, v, t)| Op::Set(c, k, v, t)),
        3 => (c.clone(), proptest::collection::vec((0..KEYS, 0..VALUES), 0..5), ttl)
            .prop_map(|(c, es, t)| Op::SetMultiple(c, es, t)),
        2 => (c.clone(), k.clone()).prop_map(|(c, k)| Op::Delete(c, k)),
        1 => (c.clone(), ks).prop_map(|(c, ks)| Op::DeleteMultiple(c, ks)),
        2 => (c.clone(), k).prop_map(|(c, k)| Op::Has(c, k)),
        1 => c.prop_map(Op::Clear),
    ];
    let op = if with_clock {
        prop_oneof![10 => op, 2 => (1u64..4_000).prop_map(Op::AdvanceMs)].boxed()
    } else {
        op.boxed()
    };
    (keys, values, proptest::collection::vec(op, 1..=max_ops))
        .prop_map(|(keys, values, ops)| Case { keys, values, ops })
}

struct Model {
    now_ms: u64,
    map: HashMap<usize, (Bytes, Option<u64>)>,
}

impl Model {
    fn get(&self, k: usize) -> Option<Bytes> {
        self.map
            .get(&k)
            .filter(|(_, d)| d.is_none_or(|d| d > self.now_ms))
            .map(|(v, _)| v.clone())
    }

    fn set(&mut self, k: usize, v: Bytes, ttl: Ttl) {
        match ttl.deadline(self.now_ms) {
            Ok(deadline) => {
                self.map.insert(k, (v, deadline));
            }
            Err(()) => {
                self.map.remove(&k);
            }
        }
    }
}

/// Runs the model-based property test of PSR-16 caches from `factory`.
///
/// # Panics
///
/// When a cache disagrees with the model; the panic prints the shrunk failing sequence.
pub fn check_simple_model<F: SimpleCacheFactory + ?Sized>(factory: &F, options: ModelOptions) {
    crate::sequences::run_sequences(
        "cache",
        &options,
        strategy(factory.clock().is_some(), options.max_ops.max(1)),
        |case| async move { run(factory, &case).await },
    );
}

async fn run<F: SimpleCacheFactory + ?Sized>(
    factory: &F,
    case: &Case,
) -> Result<(), TestCaseError> {
    let clock = factory.clock();
    let namespace = unique_namespace("psr16-model");
    let caches: [Arc<dyn SimpleCache>; 2] = [
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
        map: HashMap::new(),
    };
    let key = |k: usize| case.keys[k].as_str();
    for (step, op) in case.ops.iter().enumerate() {
        let context = || format!("step {step}: {op:?}");
        match op {
            Op::Get(c, k) => {
                let got = caches[*c].get(key(*k)).await.map_err(call_failed)?;
                prop_assert_eq!(got, model.get(*k), "{}", context());
            }
            Op::GetMultiple(c, ks) => {
                let asked: Vec<&str> = ks.iter().map(|&k| key(k)).collect();
                let got = caches[*c].get_multiple(&asked).await.map_err(call_failed)?;
                let want: Vec<Option<Bytes>> = ks.iter().map(|&k| model.get(k)).collect();
                prop_assert_eq!(got, want, "{}", context());
            }
            Op::Set(c, k, v, ttl) => {
                let value = case.values[*v].clone();
                caches[*c]
                    .set(key(*k), value.clone(), ttl.expiration())
                    .await
                    .map_err(call_failed)?;
                model.set(*k, value, *ttl);
            }
            Op::SetMultiple(c, entries, ttl) => {
                let values: Vec<(&str, Bytes)> = entries
                    .iter()
                    .map(|&(k, v)| (key(k), case.values[v].clone()))
                    .collect();
                caches[*c]
                    .set_multiple(&values, ttl.expiration())
                    .await
                    .map_err(call_failed)?;
                for &(k, v) in entries {
                    model.set(k, case.values[v].clone(), *ttl);
                }
            }
            Op::Delete(c, k) => {
                caches[*c].delete(key(*k)).await.map_err(call_failed)?;
                model.map.remove(k);
            }
            Op::DeleteMultiple(c, ks) => {
                let asked: Vec<&str> = ks.iter().map(|&k| key(k)).collect();
                caches[*c]
                    .delete_multiple(&asked)
                    .await
                    .map_err(call_failed)?;
                for k in ks {
                    model.map.remove(k);
                }
            }
            Op::Has(c, k) => {
                let got = caches[*c].has(key(*k)).await.map_err(call_failed)?;
                prop_assert_eq!(got, model.get(*k).is_some(), "{}", context());
            }
            Op::Clear(c) => {
                caches[*c].clear().await.map_err(call_failed)?;
                model.map.clear();
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
