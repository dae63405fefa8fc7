//! Stampede protection: one computation per key per process, a recursion guard, and
//! probabilistic early recomputation (XFetch, as Symfony's `get` with `$beta`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::format::Metadata;
use crate::item::CacheItem;
use bytes::Bytes;
use cache_store::{Error, ErrorKind, OwnedKey, Result};
use tokio::sync::OnceCell;

/// The result every caller of one computation shares.
pub(crate) type Flight = Arc<OnceCell<Result<Bytes>>>;

/// The computations under way in one pool, by key.
#[derive(Debug, Default)]
pub(crate) struct Flights {
    by_key: Mutex<HashMap<OwnedKey, Flight>>,
}

impl Flights {
    /// The flight for `key`, joining the one under way or starting one.
    pub(crate) fn join(&self, key: &OwnedKey) -> Flight {
        let mut by_key = self.by_key.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(by_key.entry(key.clone()).or_default())
    }

    /// Forgets `flight` once it has landed, unless a newer one took its place.
    pub(crate) fn leave(&self, key: &OwnedKey, flight: &Flight) {
        let mut by_key = self.by_key.lock().unwrap_or_else(|p| p.into_inner());
        if by_key.get(key).is_some_and(|f| Arc::ptr_eq(f, flight)) {
            by_key.remove(key);
        }
    }
}

tokio::task_local! {
    /// The (pool, key) pairs whose computation this task is running, so that a nested `get` of
    /// the same key computes directly instead of waiting for itself.
    static COMPUTING: Vec<(u64, OwnedKey)>;
}

/// Whether this task is already computing `key` in pool `pool_id`.
pub(crate) fn is_computing(pool_id: u64, key: &OwnedKey) -> bool {
    COMPUTING
        .try_with(|computing| computing.iter().any(|(p, k)| *p == pool_id && k == key))
        .unwrap_or(false)
}

/// Runs `fut` marked as computing `key` in `pool_id` (on top of what the task already
/// computes).
pub(crate) async fn computing<F: std::future::Future>(
    pool_id: u64,
    key: &OwnedKey,
    fut: F,
) -> F::Output {
    let mut marks = COMPUTING.try_with(Clone::clone).unwrap_or_default();
    marks.push((pool_id, key.clone()));
    COMPUTING.scope(marks, fut).await
}

/// Refuses a `beta` that is no factor: negative or NaN (`INFINITY` forces a recomputation).
pub(crate) fn check_beta(beta: f64) -> Result<()> {
    if beta.is_nan() || beta < 0.0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("beta must be zero or more (INFINITY forces a recomputation); got {beta}"),
        ));
    }
    Ok(())
}

/// Whether `get` answers with `item` as it is: a hit, not forced (`beta` INFINITY) and not
/// elected for early recomputation.
pub(crate) fn answers_as_is(item: &CacheItem, beta: f64, now: SystemTime) -> bool {
    item.is_hit() && beta != f64::INFINITY && !elected_early(item.metadata(), beta, now)
}

/// What a caller with a value `at_hand` (a hit elected early, or a stale copy) is served
/// instead of joining `flight`: that value, while another caller of this process recomputes
/// the key (the map and this caller hold the other two counts of the flight). A forced
/// caller waits for the new value instead.
pub(crate) fn served_meanwhile(
    flight: &Flight,
    at_hand: Option<&Bytes>,
    forced: bool,
) -> Option<Bytes> {
    at_hand
        .filter(|_| !forced && Arc::strong_count(flight) > 2)
        .cloned()
}

/// XFetch: whether a hit with `metadata` is elected for early recomputation at `now`. The
/// chance grows as the expiry nears and with the time the value took to compute; `beta`
/// scales it (0: never).
fn elected_early(metadata: Option<Metadata>, beta: f64, now: SystemTime) -> bool {
    let Some(meta) = metadata else {
        return false;
    };
    let now_ms = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    // U is uniform in (0, 1], so -ln(U) is in [0, inf).
    let u = 1.0 - fastrand::f64();
    let head_start_ms = f64::from(meta.ctime_ms) * beta * -u.ln();
    now_ms + head_start_ms >= meta.expiry_ms as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at_ms(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn early_expiry_needs_metadata_and_a_positive_beta() {
        let meta = Metadata {
            expiry_ms: 10_000,
            ctime_ms: 1_000,
        };
        assert!(!elected_early(None, 1.0, at_ms(9_999)));
        assert!(!elected_early(Some(meta), 0.0, at_ms(9_999)));
        assert!(elected_early(Some(meta), 0.0, at_ms(10_000)));
        // Far from the expiry with a short computation: practically never elected.
        let far = (0..1000)
            .filter(|_| elected_early(Some(meta), 1.0, at_ms(0)))
            .count();
        assert!(far < 5, "elected {far} times out of 1000 ten seconds early");
        // Right before it: elected most of the time.
        let near = (0..1000)
            .filter(|_| elected_early(Some(meta), 1.0, at_ms(9_990)))
            .count();
        assert!(
            near > 900,
            "elected only {near} times out of 1000 10 ms early"
        );
    }

    #[tokio::test]
    async fn the_recursion_guard_is_scoped_to_the_computation() {
        let key = OwnedKey::new("k").unwrap();
        assert!(!is_computing(1, &key));
        computing(1, &key, async {
            assert!(is_computing(1, &key));
            assert!(!is_computing(2, &key));
            let other = OwnedKey::new("other").unwrap();
            computing(1, &other, async {
                assert!(is_computing(1, &key) && is_computing(1, &other));
            })
            .await;
            assert!(!is_computing(1, &other));
        })
        .await;
        assert!(!is_computing(1, &key));
    }
}
