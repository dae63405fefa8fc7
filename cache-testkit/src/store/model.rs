//! The model-based property test: random operation sequences run against the store and a
//! reference model side by side; every result must match.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use cache_store::{Entry, Expiration, Key, Store};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::sequences::call_failed;

use super::{Model, StoreFactory};
use crate::env::unique_namespace;

/// How long and how many sequences the property test runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ModelOptions {
    /// Sequences per run (default 256).
    pub cases: u32,
    /// Operations per sequence, at most (default 40).
    pub max_ops: usize,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            cases: 256,
            max_ops: 40,
        }
    }
}

impl ModelOptions {
    /// Sets the number of sequences.
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = cases;
        self
    }

    /// Sets the longest sequence.
    pub fn max_ops(mut self, max_ops: usize) -> Self {
        self.max_ops = max_ops;
        self
    }
}

/// An expiration the generator picks, kept symbolic so shrunk sequences read well.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exp {
    Default,
    Never,
    /// After this many milliseconds (short: only with a manual clock).
    AfterMs(u64),
    /// After an hour: outlives any test run on a real clock.
    AfterHour,
    /// Already expired: `After(0)`.
    Zero,
    /// Already expired: an absolute instant in 1970.
    Past,
}

impl Exp {
    fn to_expiration(self) -> Expiration {
        match self {
            Exp::Default => Expiration::Default,
            Exp::Never => Expiration::Never,
            Exp::AfterMs(ms) => Expiration::After(Duration::from_millis(ms)),
            Exp::AfterHour => Expiration::After(Duration::from_secs(3600)),
            Exp::Zero => Expiration::After(Duration::ZERO),
            Exp::Past => Expiration::At(SystemTime::UNIX_EPOCH + Duration::from_secs(1)),
        }
    }
}

/// Which of the four handles an operation goes through: two namespaces, two handles each.
#[derive(Clone, Copy, Debug)]
struct Via {
    namespace: usize,
    handle: usize,
}

#[derive(Clone, Debug)]
enum Op {
    Get(Via, usize),
    GetMany(Via, Vec<usize>),
    Set(Via, usize, usize, Exp),
    SetMany(Via, Vec<(usize, usize, Exp)>),
    Delete(Via, usize),
    DeleteMany(Via, Vec<usize>),
    Contains(Via, usize),
    Add(Via, usize, usize, Exp),
    Touch(Via, usize, Exp),
    Clear(Via),
    AdvanceMs(u64),
}

/// One generated case: the keys it uses, the values it writes, and the operations.
#[derive(Clone)]
struct Case {
    keys: Vec<String>,
    values: Vec<Bytes>,
    ops: Vec<Op>,
}

impl fmt::Debug for Case {
    // Prints operations with the actual keys and values, so a failure reads on its own.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "keys:")?;
        for (i, k) in self.keys.iter().enumerate() {
            let shown: String = k.chars().take(40).collect();
            writeln!(f, "  k{i} = {shown:?} ({} bytes)", k.len())?;
        }
        writeln!(f, "values:")?;
        for (i, v) in self.values.iter().enumerate() {
            writeln!(f, "  v{i} = {v:?}")?;
        }
        writeln!(f, "operations:")?;
        for op in &self.ops {
            writeln!(f, "  {op:?}")?;
        }
        Ok(())
    }
}

const KEY_SLOTS: usize = 8;
const VALUE_SLOTS: usize = 6;

fn case_strategy(with_clock: bool, max_ops: usize) -> impl Strategy<Value = Case> {
    // Half the key slots come from the awkward list, half are arbitrary valid keys.
    let keys = crate::store::keys::key_slots(KEY_SLOTS / 2, KEY_SLOTS / 2, 40);
    let values = crate::store::keys::value_slots(VALUE_SLOTS, 48);
    let ops = proptest::collection::vec(op_strategy(with_clock), 1..=max_ops);
    (keys, values, ops).prop_map(|(keys, values, ops)| Case { keys, values, ops })
}

fn exp_strategy(with_clock: bool) -> BoxedStrategy<Exp> {
    let common = prop_oneof![
        2 => Just(Exp::Never),
        1 => Just(Exp::Default),
        2 => Just(Exp::AfterHour),
        1 => Just(Exp::Zero),
        1 => Just(Exp::Past),
    ];
    if with_clock {
        prop_oneof![3 => common, 3 => (1u64..5_000).prop_map(Exp::AfterMs)].boxed()
    } else {
        common.boxed()
    }
}

fn op_strategy(with_clock: bool) -> BoxedStrategy<Op> {
    let via = (0..2usize, 0..2usize).prop_map(|(namespace, handle)| Via { namespace, handle });
    let key = 0..KEY_SLOTS;
    let value = 0..VALUE_SLOTS;
    let keys = proptest::collection::vec(0..KEY_SLOTS, 0..6);
    let exp = exp_strategy(with_clock);
    let entries = proptest::collection::vec((0..KEY_SLOTS, 0..VALUE_SLOTS, exp.clone()), 0..6);
    let ops = prop_oneof![
        4 => (via.clone(), key.clone()).prop_map(|(v, k)| Op::Get(v, k)),
        3 => (via.clone(), keys.clone()).prop_map(|(v, ks)| Op::GetMany(v, ks)),
        5 => (via.clone(), key.clone(), value.clone(), exp.clone())
            .prop_map(|(v, k, x, e)| Op::Set(v, k, x, e)),
        3 => (via.clone(), entries).prop_map(|(v, es)| Op::SetMany(v, es)),
        2 => (via.clone(), key.clone()).prop_map(|(v, k)| Op::Delete(v, k)),
        1 => (via.clone(), keys).prop_map(|(v, ks)| Op::DeleteMany(v, ks)),
        2 => (via.clone(), key.clone()).prop_map(|(v, k)| Op::Contains(v, k)),
        3 => (via.clone(), key.clone(), value, exp.clone())
            .prop_map(|(v, k, x, e)| Op::Add(v, k, x, e)),
        2 => (via.clone(), key, exp).prop_map(|(v, k, e)| Op::Touch(v, k, e)),
        1 => via.prop_map(Op::Clear),
    ];
    if with_clock {
        prop_oneof![12 => ops, 2 => (1u64..4_000).prop_map(Op::AdvanceMs)].boxed()
    } else {
        ops.boxed()
    }
}

/// The reference: one map per namespace from key slot to (value, deadline in ms since start).
struct Reference {
    model: Model,
    default_ttl_ms: Option<u64>,
    now_ms: u64,
    namespaces: [HashMap<usize, (Bytes, Option<u64>)>; 2],
}

impl Reference {
    /// The deadline an expiration gives now, in model milliseconds; `Err(())` when expired.
    fn deadline(&self, exp: Exp) -> Result<Option<u64>, ()> {
        let after = match exp {
            Exp::Never => return Ok(None),
            Exp::Default => match self.default_ttl_ms {
                None => return Ok(None),
                Some(ms) => ms,
            },
            Exp::AfterMs(ms) => ms,
            Exp::AfterHour => 3_600_000,
            Exp::Zero | Exp::Past => return Err(()),
        };
        if after == 0 {
            Err(())
        } else {
            Ok(Some(self.now_ms + after))
        }
    }

    fn live(&self, ns: usize, k: usize) -> Option<&Bytes> {
        match self.namespaces[ns].get(&k) {
            Some((v, deadline)) if deadline.is_none_or(|d| d > self.now_ms) => Some(v),
            _ => None,
        }
    }

    fn get(&self, ns: usize, k: usize) -> Option<Bytes> {
        match self.model {
            Model::Null => None,
            Model::Cache => self.live(ns, k).cloned(),
        }
    }

    fn set(&mut self, ns: usize, k: usize, v: Bytes, exp: Exp) {
        match self.deadline(exp) {
            Ok(deadline) => {
                self.namespaces[ns].insert(k, (v, deadline));
            }
            Err(()) => {
                self.namespaces[ns].remove(&k);
            }
        }
    }

    fn add(&mut self, ns: usize, k: usize, v: Bytes, exp: Exp) -> bool {
        if self.model == Model::Null {
            return true;
        }
        if self.live(ns, k).is_some() {
            return false;
        }
        self.set(ns, k, v, exp);
        true
    }

    fn touch(&mut self, ns: usize, k: usize, exp: Exp) -> bool {
        if self.model == Model::Null {
            return false;
        }
        let Some(value) = self.live(ns, k).cloned() else {
            self.namespaces[ns].remove(&k);
            return false;
        };
        self.set(ns, k, value, exp);
        true
    }
}

/// Runs the model-based property test of the `Store` contract over stores from `factory`.
///
/// Each sequence writes through four handles (two namespaces, two handles on each), with keys
/// drawn from [`awkward_keys`](super::keys::awkward_keys) and arbitrary valid strings, values of 0 to 47 bytes, every
/// kind of expiration, and (when the factory has a clock) moves of the clock. After every
/// operation the store's answer must equal the model's. A failure is shrunk to a minimal
/// sequence, which the panic message prints with its keys and values.
///
/// # Panics
///
/// When the store disagrees with the model (the test failing), or a store call errors.
pub fn check_model<F: StoreFactory + ?Sized>(factory: &F, options: ModelOptions) {
    crate::sequences::run_sequences(
        "store",
        &options,
        case_strategy(factory.clock().is_some(), options.max_ops.max(1)),
        |case| async move { run_case(factory, &case).await },
    );
}

async fn run_case<F: StoreFactory + ?Sized>(factory: &F, case: &Case) -> Result<(), TestCaseError> {
    let clock = factory.clock();
    let namespaces = [unique_namespace("model"), unique_namespace("model")];
    let mut handles: Vec<[Arc<dyn Store>; 2]> = Vec::new();
    for ns in &namespaces {
        let first = factory.create(ns).await.map_err(call_failed)?;
        let second = factory.create(ns).await.map_err(call_failed)?;
        handles.push([first, second]);
    }
    let mut reference = Reference {
        model: factory.model(),
        default_ttl_ms: factory
            .default_ttl()
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        now_ms: 0,
        namespaces: [HashMap::new(), HashMap::new()],
    };
    let keys: Vec<Key<'_>> = case
        .keys
        .iter()
        .map(|k| Key::new(k).map_err(call_failed))
        .collect::<Result<_, _>>()?;
    let store = |via: Via| &handles[via.namespace][via.handle];

    for (step, op) in case.ops.iter().enumerate() {
        let context = || format!("step {step}: {op:?}");
        match op {
            Op::Get(via, k) => {
                let got = store(*via).get(keys[*k]).await.map_err(call_failed)?;
                let want = reference.get(via.namespace, *k);
                prop_assert_eq!(got, want, "{}", context());
            }
            Op::GetMany(via, ks) => {
                let asked: Vec<Key<'_>> = ks.iter().map(|&k| keys[k]).collect();
                let got = store(*via).get_many(&asked).await.map_err(call_failed)?;
                prop_assert_eq!(got.len(), ks.len(), "{}", context());
                for (slot, (&k, value)) in ks.iter().zip(got).enumerate() {
                    let value = value.map_err(call_failed)?;
                    let want = reference.get(via.namespace, k);
                    prop_assert_eq!(value, want, "{} slot {}", context(), slot);
                }
            }
            Op::Set(via, k, v, exp) => {
                let value = case.values[*v].clone();
                store(*via)
                    .set(keys[*k], value.clone(), exp.to_expiration())
                    .await
                    .map_err(call_failed)?;
                reference.set(via.namespace, *k, value, *exp);
            }
            Op::SetMany(via, entries) => {
                let batch: Vec<Entry<'_>> = entries
                    .iter()
                    .map(|&(k, v, exp)| {
                        Entry::new(keys[k], case.values[v].clone(), exp.to_expiration())
                    })
                    .collect();
                let failed = store(*via).set_many(&batch).await.map_err(call_failed)?;
                prop_assert!(failed.is_empty(), "{}: {:?}", context(), failed);
                for &(k, v, exp) in entries {
                    reference.set(via.namespace, k, case.values[v].clone(), exp);
                }
            }
            Op::Delete(via, k) => {
                store(*via).delete(keys[*k]).await.map_err(call_failed)?;
                reference.namespaces[via.namespace].remove(k);
            }
            Op::DeleteMany(via, ks) => {
                let asked: Vec<Key<'_>> = ks.iter().map(|&k| keys[k]).collect();
                store(*via).delete_many(&asked).await.map_err(call_failed)?;
                for k in ks {
                    reference.namespaces[via.namespace].remove(k);
                }
            }
            Op::Contains(via, k) => {
                let got = store(*via).contains(keys[*k]).await.map_err(call_failed)?;
                let want = reference.get(via.namespace, *k).is_some();
                prop_assert_eq!(got, want, "{}", context());
            }
            Op::Add(via, k, v, exp) => {
                let value = case.values[*v].clone();
                let got = store(*via)
                    .add(keys[*k], value.clone(), exp.to_expiration())
                    .await
                    .map_err(call_failed)?;
                let want = reference.add(via.namespace, *k, value, *exp);
                prop_assert_eq!(got, want, "{}", context());
            }
            Op::Touch(via, k, exp) => {
                let got = store(*via)
                    .touch(keys[*k], exp.to_expiration())
                    .await
                    .map_err(call_failed)?;
                let want = reference.touch(via.namespace, *k, *exp);
                prop_assert_eq!(got, want, "{}", context());
            }
            Op::Clear(via) => {
                store(*via).clear().await.map_err(call_failed)?;
                reference.namespaces[via.namespace].clear();
            }
            Op::AdvanceMs(ms) => {
                if let Some(clock) = &clock {
                    clock.advance(Duration::from_millis(*ms));
                    reference.now_ms += ms;
                }
            }
        }
    }
    Ok(())
}
