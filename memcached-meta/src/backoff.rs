//! Pauses between dials of a server that refused the last one: calls in the pause fail at
//! once instead of each waiting for a connect timeout, and the pause doubles, within bounds,
//! while the server stays away.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A server's dialing state: how many dials in a row failed, and when the next may start.
#[derive(Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures: u32,
    next_dial: Option<Instant>,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max: max.max(min),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Two plain fields, each written whole: a panic elsewhere leaves them consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How long until a dial may start: `None` when it may start now.
    pub(crate) fn wait(&self) -> Option<Duration> {
        let next = self.state().next_dial?;
        next.checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
    }

    /// A dial failed: the next waits `min`, then twice as long each time, at most `max`.
    pub(crate) fn failed(&self) {
        let mut state = self.state();
        let pause = self
            .min
            .saturating_mul(2u32.saturating_pow(state.failures.min(31)))
            .min(self.max);
        state.failures = state.failures.saturating_add(1);
        state.next_dial = Some(Instant::now() + pause);
    }

    /// A dial succeeded: the next failure starts from `min` again.
    pub(crate) fn succeeded(&self) {
        *self.state() = State::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_within_their_bounds_and_reset_on_success() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        assert_eq!(backoff.wait(), None);
        let pauses: Vec<Duration> = (0..4)
            .map(|_| {
                backoff.failed();
                backoff.wait().unwrap()
            })
            .collect();
        // Each pause is read just after it was set, so it is at most its full length.
        for (pause, full) in pauses.iter().zip([100, 200, 350, 350]) {
            assert!(*pause <= Duration::from_millis(full), "{pauses:?}");
            assert!(*pause > Duration::from_millis(full) / 2, "{pauses:?}");
        }
        backoff.succeeded();
        assert_eq!(backoff.wait(), None);
        let never = Backoff::new(Duration::ZERO, Duration::ZERO);
        never.failed();
        assert_eq!(never.wait(), None);
    }
}
