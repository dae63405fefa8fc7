//! The session property test: random sequences of session operations by two requests, run
//! through the three adapters (PSR-6, PSR-16, Doctrine) over one store factory; every adapter
//! must give the same result at every step, equal to a reference model. Strict mode and
//! locking (with no retries, so a held lock shows at once as an error) are on, so the model
//! covers lock ownership, expiry and release too.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cache_store::ErrorKind;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use session_bridge::{LockOptions, SessionHandler, SessionOptions};

use super::{Adapter, SessionFactory, SessionsOver};
use crate::env::unique_namespace;
use crate::sequences::call_failed;
use crate::store::{ModelOptions, StoreFactory};

const LIFETIME_MS: u64 = 10_000;
const LOCK_MS: u64 = 4_000;
const REQUESTS: usize = 2;

/// Ids: four well-formed ones and one malformed one (every call with it must fail alike).
const IDS: [&str; 5] = [
    "aaaaaaaaaaaaaaaaaaaaaa",
    "bbbbbbbbbbbbbbbbbbbbbb",
    "Zz09-_,Zz09-_,Zz09-_,Zz09",
    "cccccccccccccccccccccccccccccccc",
    "bad:id/{x}-aaaaaaaaaaaaaa",
];
const VALUES: [&[u8]; 4] = [
    b"",
    b"a|i:1;",
    b"\x00\xff binary",
    b"count|i:2;user|s:5:\"alice\";",
];

#[derive(Clone, Copy, Debug)]
enum Op {
    Read(usize, usize),
    Write(usize, usize, usize),
    WriteFor(usize, usize, usize, u64),
    Destroy(usize, usize),
    UpdateTimestamp(usize, usize, usize),
    ValidateId(usize, usize),
    Create(usize, usize, usize),
    Close(usize),
    AdvanceMs(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Data(Bytes),
    Done,
    Answer(bool),
    Failed(ErrorKind),
}

fn outcome<T>(result: cache_store::Result<T>, ok: impl FnOnce(T) -> Outcome) -> Outcome {
    match result {
        Ok(value) => ok(value),
        Err(err) => Outcome::Failed(err.kind()),
    }
}

#[derive(Clone)]
struct Case {
    ops: Vec<Op>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "ids: {IDS:?}")?;
        writeln!(f, "operations (first field: request 0 or 1):")?;
        for op in &self.ops {
            writeln!(f, "  {op:?}")?;
        }
        Ok(())
    }
}

fn strategy(with_clock: bool, max_ops: usize) -> impl Strategy<Value = Case> {
    let r = 0..REQUESTS;
    let i = 0..IDS.len();
    let v = 0..VALUES.len();
    let op = prop_oneof![
        4 => (r.clone(), i.clone()).prop_map(|(r, i)| Op::Read(r, i)),
        4 => (r.clone(), i.clone(), v.clone()).prop_map(|(r, i, v)| Op::Write(r, i, v)),
        1 => (r.clone(), i.clone(), v.clone(), 0u64..3).prop_map(|(r, i, v, s)| Op::WriteFor(r, i, v, s * 5)),
        2 => (r.clone(), i.clone()).prop_map(|(r, i)| Op::Destroy(r, i)),
        2 => (r.clone(), i.clone(), v.clone()).prop_map(|(r, i, v)| Op::UpdateTimestamp(r, i, v)),
        2 => (r.clone(), i.clone()).prop_map(|(r, i)| Op::ValidateId(r, i)),
        2 => (r.clone(), i, v).prop_map(|(r, i, v)| Op::Create(r, i, v)),
        3 => r.prop_map(Op::Close),
    ];
    let op = if with_clock {
        prop_oneof![10 => op, 3 => (1u64..6_000).prop_map(Op::AdvanceMs)].boxed()
    } else {
        op.boxed()
    };
    proptest::collection::vec(op, 1..=max_ops).prop_map(|ops| Case { ops })
}

/// The reference: sessions and locks with deadlines in model milliseconds.
#[derive(Default)]
struct Model {
    now_ms: u64,
    sessions: HashMap<usize, (Bytes, u64)>,
    /// Session to (request holding the lock, lock deadline).
    locks: HashMap<usize, (usize, u64)>,
    /// What each request believes it holds (it may have lost it to expiry).
    held: [Vec<usize>; REQUESTS],
}

impl Model {
    fn session(&self, i: usize) -> Option<&Bytes> {
        self.sessions
            .get(&i)
            .filter(|(_, deadline)| *deadline > self.now_ms)
            .map(|(data, _)| data)
    }

    fn live_lock(&self, i: usize) -> Option<usize> {
        self.locks
            .get(&i)
            .filter(|(_, deadline)| *deadline > self.now_ms)
            .map(|(owner, _)| *owner)
    }

    fn believes(&self, r: usize, i: usize) -> bool {
        self.held[r].contains(&i)
    }

    fn forget(&mut self, r: usize, i: usize) {
        self.held[r].retain(|&held| held != i);
    }

    /// `read`'s lock step: Ok if `r` holds or takes the lock.
    fn lock(&mut self, r: usize, i: usize) -> Result<(), ErrorKind> {
        if self.believes(r, i) {
            return Ok(());
        }
        if self.live_lock(i).is_some() {
            return Err(ErrorKind::Locked);
        }
        self.locks.insert(i, (r, self.now_ms + LOCK_MS));
        self.held[r].push(i);
        Ok(())
    }

    /// The lock step before a write: the lock must (still) be `r`'s, and is then extended by
    /// its expiry.
    fn ensure(&mut self, r: usize, i: usize) -> Result<(), ErrorKind> {
        if !self.believes(r, i) {
            return self.lock(r, i);
        }
        if self.live_lock(i) == Some(r) {
            self.locks.insert(i, (r, self.now_ms + LOCK_MS));
            return Ok(());
        }
        self.forget(r, i);
        Err(ErrorKind::Locked)
    }

    fn release(&mut self, r: usize, i: usize) {
        if self.believes(r, i) {
            self.forget(r, i);
            if self.live_lock(i) == Some(r) {
                self.locks.remove(&i);
            }
        }
    }

    fn write(&mut self, i: usize, data: Bytes, lifetime_ms: u64) {
        if lifetime_ms == 0 {
            self.sessions.remove(&i);
        } else {
            self.sessions.insert(i, (data, self.now_ms + lifetime_ms));
        }
    }

    fn apply(&mut self, op: Op) -> Outcome {
        let bad = |i: usize| i == IDS.len() - 1;
        let invalid = Outcome::Failed(ErrorKind::InvalidKey);
        let value = |v: usize| Bytes::from_static(VALUES[v]);
        match op {
            Op::Read(_, i)
            | Op::Write(_, i, _)
            | Op::WriteFor(_, i, _, _)
            | Op::Destroy(_, i)
            | Op::UpdateTimestamp(_, i, _)
            | Op::Create(_, i, _)
                if bad(i) =>
            {
                invalid
            }
            Op::Read(r, i) => match self.lock(r, i) {
                Ok(()) => Outcome::Data(self.session(i).cloned().unwrap_or_default()),
                Err(kind) => Outcome::Failed(kind),
            },
            Op::Write(r, i, v) => match self.ensure(r, i) {
                Ok(()) => {
                    self.write(i, value(v), LIFETIME_MS);
                    Outcome::Done
                }
                Err(kind) => Outcome::Failed(kind),
            },
            Op::WriteFor(r, i, v, seconds) => match self.ensure(r, i) {
                Ok(()) => {
                    self.write(i, value(v), seconds * 1000);
                    Outcome::Done
                }
                Err(kind) => Outcome::Failed(kind),
            },
            Op::Destroy(r, i) => {
                self.sessions.remove(&i);
                self.release(r, i);
                Outcome::Done
            }
            Op::UpdateTimestamp(r, i, v) => match self.ensure(r, i) {
                Ok(()) => {
                    let data = self.session(i).cloned().unwrap_or_else(|| value(v));
                    self.write(i, data, LIFETIME_MS);
                    Outcome::Done
                }
                Err(kind) => Outcome::Failed(kind),
            },
            Op::ValidateId(_, i) => Outcome::Answer(!bad(i) && self.session(i).is_some()),
            Op::Create(_, i, v) => {
                let free = self.session(i).is_none();
                if free {
                    self.write(i, value(v), LIFETIME_MS);
                }
                Outcome::Answer(free)
            }
            Op::Close(r) => {
                for i in self.held[r].clone() {
                    self.release(r, i);
                }
                Outcome::Done
            }
            Op::AdvanceMs(ms) => {
                self.now_ms += ms;
                Outcome::Done
            }
        }
    }
}

async fn call(handler: &dyn SessionHandler, op: Op) -> Outcome {
    let value = |v: usize| Bytes::from_static(VALUES[v]);
    match op {
        Op::Read(_, i) => outcome(handler.read(IDS[i]).await, Outcome::Data),
        Op::Write(_, i, v) => outcome(handler.write(IDS[i], value(v)).await, |()| Outcome::Done),
        Op::WriteFor(_, i, v, seconds) => outcome(
            handler
                .write_with_lifetime(IDS[i], value(v), Duration::from_secs(seconds))
                .await,
            |()| Outcome::Done,
        ),
        Op::Destroy(_, i) => outcome(handler.destroy(IDS[i]).await, |()| Outcome::Done),
        Op::UpdateTimestamp(_, i, v) => {
            outcome(handler.update_timestamp(IDS[i], value(v)).await, |()| {
                Outcome::Done
            })
        }
        Op::ValidateId(_, i) => outcome(handler.validate_id(IDS[i]).await, Outcome::Answer),
        Op::Create(_, i, v) => outcome(
            handler
                .create(IDS[i], value(v), Duration::from_millis(LIFETIME_MS))
                .await,
            Outcome::Answer,
        ),
        Op::Close(_) => outcome(handler.close().await, |()| Outcome::Done),
        Op::AdvanceMs(_) => Outcome::Done,
    }
}

fn request_of(op: Op) -> Option<usize> {
    match op {
        Op::Read(r, _)
        | Op::Write(r, _, _)
        | Op::WriteFor(r, _, _, _)
        | Op::Destroy(r, _)
        | Op::UpdateTimestamp(r, _, _)
        | Op::ValidateId(r, _)
        | Op::Create(r, _, _)
        | Op::Close(r) => Some(r),
        Op::AdvanceMs(_) => None,
    }
}

fn options() -> SessionOptions {
    let mut lock = LockOptions::default();
    lock.retries = 0;
    lock.expiry = Duration::from_millis(LOCK_MS);
    SessionOptions::new()
        .with_max_lifetime(Duration::from_millis(LIFETIME_MS))
        .and_then(|o| o.with_locking(lock))
        .map(|o| o.strict(true))
        .expect("valid session options")
}

/// Runs random session sequences through the three adapters over `stores` and checks that
/// each step gives the model's result through every adapter.
///
/// # Panics
///
/// When an adapter disagrees with the model (and so possibly with the others); the panic
/// prints the shrunk failing sequence.
pub fn check_sessions_agree<F: StoreFactory>(stores: F, options: ModelOptions) {
    let clock = stores.clock();
    let factories: Vec<SessionsOver<&F>> = Adapter::ALL
        .iter()
        .map(|&adapter| SessionsOver::new(&stores, adapter))
        .collect();
    let factories = &factories;
    let clock = &clock;
    crate::sequences::run_sequences(
        "session adapters",
        &options,
        strategy(clock.is_some(), options.max_ops.max(1)),
        |case| async move { run(factories, clock.as_ref(), &case).await },
    );
}

async fn run<F: StoreFactory>(
    factories: &[SessionsOver<&F>],
    clock: Option<&cache_store::ManualClock>,
    case: &Case,
) -> Result<(), TestCaseError> {
    // Per adapter, one handler per request, all on one fresh namespace.
    let mut handlers: Vec<Vec<Arc<dyn SessionHandler>>> = Vec::new();
    for factory in factories {
        let namespace = unique_namespace("sess-model");
        let mut requests = Vec::new();
        for _ in 0..REQUESTS {
            requests.push(
                factory
                    .create(&namespace, options())
                    .await
                    .map_err(call_failed)?,
            );
        }
        handlers.push(requests);
    }
    let mut model = Model::default();
    for (step, &op) in case.ops.iter().enumerate() {
        let want = model.apply(op);
        if let (Op::AdvanceMs(ms), Some(clock)) = (op, clock) {
            clock.advance(Duration::from_millis(ms));
        }
        let Some(r) = request_of(op) else {
            continue;
        };
        for (factory, requests) in factories.iter().zip(&handlers) {
            let got = call(&*requests[r], op).await;
            prop_assert_eq!(
                &got,
                &want,
                "step {}: {:?} through the {:?} adapter",
                step,
                op,
                factory.adapter
            );
        }
    }
    Ok(())
}
