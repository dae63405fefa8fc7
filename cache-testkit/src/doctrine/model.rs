//! The model-based property test of Doctrine caches: three instances over one storage (two in
//! one Doctrine namespace, one in another), each with its own memoized namespace version, run
//! through random sequences that include `delete_all`, `flush_all` and version refreshes.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use doctrine_compat::{DoctrineCache, Fetched};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::sequences::call_failed;

use super::DoctrineFactory;
use crate::env::unique_namespace;
use crate::store::ModelOptions;

/// Instances 0 and 1 share Doctrine namespace `NAMESPACES[0]`; instance 2 uses the other.
const NAMESPACES: [&str; 2] = ["app", "other:ns"];
const NAMESPACE_OF: [usize; 3] = [0, 0, 1];

#[derive(Clone, Debug)]
enum Op {
    Fetch(usize, usize),
    Contains(usize, usize),
    Save(usize, usize, usize, u64),
    Delete(usize, usize),
    FetchMultiple(usize, Vec<usize>),
    SaveMultiple(usize, Vec<(usize, usize)>, u64),
    DeleteMultiple(usize, Vec<usize>),
    DeleteAll(usize),
    FlushAll(usize),
    /// A fresh instance replaces instance i (it reads the version again).
    Reopen(usize),
    AdvanceMs(u64),
}

#[derive(Clone)]
struct Case {
    ids: Vec<String>,
    values: Vec<Bytes>,
    ops: Vec<Op>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "ids: {:?}", self.ids)?;
        writeln!(f, "values: {:?}", self.values)?;
        writeln!(
            f,
            "operations (first field: instance; life times in ms, 0 = forever):"
        )?;
        for op in &self.ops {
            writeln!(f, "  {op:?}")?;
        }
        Ok(())
    }
}

const IDS: usize = 5;
const VALUES: usize = 3;

fn strategy(with_clock: bool, max_ops: usize) -> impl Strategy<Value = Case> {
    let ids = (
        proptest::sample::subsequence(
            vec![
                String::new(),
                "[".to_owned(),
                "a]".to_owned(),
                "a:b/c\\d".to_owned(),
                "\0".to_owned(),
                "x".repeat(300),
            ],
            2,
        ),
        proptest::collection::vec(".{0,16}", IDS - 2),
    )
        .prop_map(|(mut a, b)| {
            a.extend(b);
            crate::store::keys::distinct(a)
        });
    let values = proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(Bytes::from),
        VALUES,
    );
    let life = if with_clock {
        prop_oneof![2 => Just(0u64), 2 => 1u64..5_000, 1 => Just(3_600_000u64)].boxed()
    } else {
        prop_oneof![Just(0u64), Just(3_600_000u64)].boxed()
    };
    let inst = 0..3usize;
    let id = 0..IDS;
    let ids_s = proptest::collection::vec(0..IDS, 0..4);
    let op = prop_oneof![
        4 => (inst.clone(), id.clone()).prop_map(|(i, k)| Op::Fetch(i, k)),
        2 => (inst.clone(), id.clone()).prop_map(|(i, k)| Op::Contains(i, k)),
        4 => (inst.clone(), id.clone(), 0..VALUES, life.clone()).prop_map(|(i, k, v, l)| Op::Save(i, k, v, l)),
        2 => (inst.clone(), id).prop_map(|(i, k)| Op::Delete(i, k)),
        2 => (inst.clone(), ids_s.clone()).prop_map(|(i, ks)| Op::FetchMultiple(i, ks)),
        2 => (inst.clone(), proptest::collection::vec((0..IDS, 0..VALUES), 0..4), life)
            .prop_map(|(i, es, l)| Op::SaveMultiple(i, es, l)),
        1 => (inst.clone(), ids_s).prop_map(|(i, ks)| Op::DeleteMultiple(i, ks)),
        2 => inst.clone().prop_map(Op::DeleteAll),
        1 => inst.clone().prop_map(Op::FlushAll),
        1 => inst.prop_map(Op::Reopen),
    ];
    let op = if with_clock {
        prop_oneof![10 => op, 2 => (1u64..4_000).prop_map(Op::AdvanceMs)].boxed()
    } else {
        op.boxed()
    };
    (ids, values, proptest::collection::vec(op, 1..=max_ops)).prop_map(|(ids, values, ops)| Case {
        ids,
        values,
        ops,
    })
}

#[derive(Default)]
struct Model {
    now_ms: u64,
    /// (namespace, id, version) to (value, deadline).
    entries: HashMap<(usize, usize, u64), (Bytes, Option<u64>)>,
    versions: HashMap<usize, u64>,
    memo: [Option<u64>; 3],
}

impl Model {
    fn version(&mut self, inst: usize) -> u64 {
        let stored = self.versions.get(&NAMESPACE_OF[inst]).copied().unwrap_or(1);
        *self.memo[inst].get_or_insert(stored)
    }

    fn fetch(&mut self, inst: usize, id: usize) -> Option<Bytes> {
        let key = (NAMESPACE_OF[inst], id, self.version(inst));
        let now = self.now_ms;
        self.entries
            .get(&key)
            .filter(|(_, d)| d.is_none_or(|d| d > now))
            .map(|(v, _)| v.clone())
    }

    fn save(&mut self, inst: usize, id: usize, value: Bytes, life_ms: u64) {
        let key = (NAMESPACE_OF[inst], id, self.version(inst));
        let deadline = (life_ms > 0).then_some(self.now_ms + life_ms);
        self.entries.insert(key, (value, deadline));
    }

    fn delete(&mut self, inst: usize, id: usize) {
        let key = (NAMESPACE_OF[inst], id, self.version(inst));
        self.entries.remove(&key);
    }
}

/// Runs the model-based property test of Doctrine caches from `factory`.
///
/// # Panics
///
/// When a cache disagrees with the model; the panic prints the shrunk failing sequence.
pub fn check_doctrine_model<F: DoctrineFactory + ?Sized>(factory: &F, options: ModelOptions) {
    crate::sequences::run_sequences(
        "cache",
        &options,
        strategy(factory.clock().is_some(), options.max_ops.max(1)),
        |case| async move { run(factory, &case).await },
    );
}

async fn run<F: DoctrineFactory + ?Sized>(factory: &F, case: &Case) -> Result<(), TestCaseError> {
    let clock = factory.clock();
    let storage = unique_namespace("doctrine-model");
    let mut caches: Vec<Arc<dyn DoctrineCache>> = Vec::new();
    for ns in NAMESPACE_OF {
        caches.push(
            factory
                .create(&storage, NAMESPACES[ns])
                .await
                .map_err(call_failed)?,
        );
    }
    let mut model = Model::default();
    let id = |k: usize| case.ids[k].as_str();
    let life = |ms: u64| Duration::from_millis(ms);
    for (step, op) in case.ops.iter().enumerate() {
        let context = || format!("step {step}: {op:?}");
        match op {
            Op::Fetch(i, k) => {
                let got = caches[*i].fetch(id(*k)).await.map_err(call_failed)?;
                prop_assert_eq!(got, model.fetch(*i, *k), "{}", context());
            }
            Op::Contains(i, k) => {
                let got = caches[*i].contains(id(*k)).await.map_err(call_failed)?;
                prop_assert_eq!(got, model.fetch(*i, *k).is_some(), "{}", context());
            }
            Op::Save(i, k, v, ms) => {
                let value = case.values[*v].clone();
                caches[*i]
                    .save(id(*k), value.clone(), life(*ms))
                    .await
                    .map_err(call_failed)?;
                model.save(*i, *k, value, *ms);
            }
            Op::Delete(i, k) => {
                caches[*i].delete(id(*k)).await.map_err(call_failed)?;
                model.delete(*i, *k);
            }
            Op::FetchMultiple(i, ks) => {
                let asked: Vec<&str> = ks.iter().map(|&k| id(k)).collect();
                let got = caches[*i]
                    .fetch_multiple(&asked)
                    .await
                    .map_err(call_failed)?;
                // Found entries in the order asked, each id once.
                let want: Fetched<'_> = ks
                    .iter()
                    .filter_map(|&k| model.fetch(*i, k).map(|v| (id(k), v)))
                    .collect();
                prop_assert_eq!(got, want, "{}", context());
            }
            Op::SaveMultiple(i, entries, ms) => {
                let values: Vec<(&str, Bytes)> = entries
                    .iter()
                    .map(|&(k, v)| (id(k), case.values[v].clone()))
                    .collect();
                caches[*i]
                    .save_multiple(&values, life(*ms))
                    .await
                    .map_err(call_failed)?;
                for &(k, v) in entries {
                    model.save(*i, k, case.values[v].clone(), *ms);
                }
            }
            Op::DeleteMultiple(i, ks) => {
                let asked: Vec<&str> = ks.iter().map(|&k| id(k)).collect();
                caches[*i]
                    .delete_multiple(&asked)
                    .await
                    .map_err(call_failed)?;
                if !ks.is_empty() {
                    for &k in ks {
                        model.delete(*i, k);
                    }
                }
            }
            Op::DeleteAll(i) => {
                caches[*i].delete_all().await.map_err(call_failed)?;
                let next = model.version(*i) + 1;
                model.versions.insert(NAMESPACE_OF[*i], next);
                model.memo[*i] = Some(next);
            }
            Op::FlushAll(i) => {
                caches[*i].flush_all().await.map_err(call_failed)?;
                model.entries.clear();
                model.versions.clear();
            }
            Op::Reopen(i) => {
                caches[*i] = factory
                    .create(&storage, NAMESPACES[NAMESPACE_OF[*i]])
                    .await
                    .map_err(call_failed)?;
                model.memo[*i] = None;
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
