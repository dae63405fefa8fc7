//! Time, injectable so that TTL tests move a clock instead of sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Where a store reads "now" from when it resolves and checks expirations.
///
/// In-process backends (moka, null) take any clock; network backends resolve deadlines with
/// it but the server keeps its own time, so only in-process stores can be moved by a
/// [`ManualClock`].
///
/// ```
/// use std::time::Duration;
/// use cache_store::{Clock, ManualClock};
///
/// let clock = ManualClock::new(std::time::SystemTime::UNIX_EPOCH);
/// clock.advance(Duration::from_secs(3));
/// assert_eq!(clock.now(), std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(3));
/// assert!(!clock.is_wall_clock());
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// Whether `now` follows the operating system's wall clock, so that a backend may also
    /// hand expiry to its own timers. `false` for test clocks.
    fn is_wall_clock(&self) -> bool {
        false
    }
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn is_wall_clock(&self) -> bool {
        true
    }
}

/// A clock that moves only when told to. Clones share the same time.
#[derive(Clone)]
pub struct ManualClock {
    // Nanoseconds since the Unix epoch: one atomic load per read on the hot path.
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock standing at `start` (clamped to the range a `u64` of nanoseconds since the
    /// epoch holds, 1970 to 2554).
    pub fn new(start: SystemTime) -> Self {
        ManualClock {
            nanos: Arc::new(AtomicU64::new(to_nanos(start))),
        }
    }

    /// A clock standing at the current wall-clock time.
    pub fn starting_now() -> Self {
        ManualClock::new(SystemTime::now())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_add(by))
            })
            .ok();
    }

    /// Sets the clock to `to` (which may be earlier than now).
    pub fn set(&self, to: SystemTime) {
        self.nanos.store(to_nanos(to), Ordering::Release);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(self.nanos.load(Ordering::Acquire))
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::starting_now()
    }
}

fn to_nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_time_and_advance_saturates() {
        let a = ManualClock::new(SystemTime::UNIX_EPOCH);
        let b = a.clone();
        a.advance(Duration::from_millis(1500));
        assert_eq!(
            b.now(),
            SystemTime::UNIX_EPOCH + Duration::from_millis(1500)
        );
        b.advance(Duration::MAX);
        assert!(a.now() > SystemTime::UNIX_EPOCH + Duration::from_secs(500 * 365 * 86_400));
        a.set(SystemTime::UNIX_EPOCH);
        assert_eq!(b.now(), SystemTime::UNIX_EPOCH);
    }

    #[test]
    fn times_before_the_epoch_clamp_to_it() {
        let c = ManualClock::new(SystemTime::UNIX_EPOCH - Duration::from_secs(5));
        assert_eq!(c.now(), SystemTime::UNIX_EPOCH);
    }

    #[test]
    fn system_clock_is_the_wall_clock() {
        assert!(SystemClock.is_wall_clock());
        let before = SystemTime::now();
        assert!(SystemClock.now() >= before);
    }
}
