//! Expiration: one type and one rounding rule for every backend.

use std::time::{Duration, SystemTime};

/// When an entry stops being a hit.
///
/// The three PHP APIs overload their TTL integers differently (PSR-16's `0` deletes, Doctrine's
/// `0` means forever); each abstraction crate translates its own convention into this one type,
/// so the meaning is never ambiguous at the store.
///
/// # One rule on every backend
///
/// [`deadline`](Expiration::deadline) resolves an expiration before any I/O, and every
/// backend writes what it resolves to:
///
/// - a lifetime that is zero, or an instant not in the future, is already expired: the write
///   deletes the entry (never "stores it forever");
/// - a deadline later than [`Deadline::LATEST_UNIX_TIME`] (the start of 2038, the last instant that
///   memcached's 32-bit clock and every other backend can represent) is **no deadline**: the
///   entry is kept until it is evicted or deleted, on every backend. So a lifetime of a
///   hundred years, `Duration::MAX` or an instant in the year 3000 is written, acknowledged
///   and readable everywhere, instead of being refused by one server and silently dropped by
///   another;
/// - backends whose clock counts whole seconds round **up**, so an entry is never a miss
///   before its deadline (see each backend for how late it may still be a hit).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use cache_store::{Deadline, Expiration};
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
/// let after = Expiration::After(Duration::from_secs(60));
/// assert_eq!(after.deadline(now, None), Deadline::At(now + Duration::from_secs(60)));
/// // `Default` takes the store's or pool's default lifetime, and "never" when there is none.
/// assert_eq!(Expiration::Default.deadline(now, None), Deadline::Never);
/// // A zero lifetime is already expired: writing it deletes the entry.
/// assert!(Expiration::After(Duration::ZERO).deadline(now, None).is_expired(now));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Expiration {
    /// The default lifetime of the store or pool doing the write (never, if it has none).
    #[default]
    Default,
    /// Kept until evicted or deleted.
    Never,
    /// Expires this long after the write. [`Duration::ZERO`] is already expired.
    After(Duration),
    /// Expires at this instant. An instant not in the future is already expired.
    At(SystemTime),
}

impl Expiration {
    /// The absolute deadline this expiration gives for a write at `now`, with `default` as the
    /// lifetime of [`Expiration::Default`].
    ///
    /// A deadline later than [`Deadline::LATEST_UNIX_TIME`] (or too far to represent as a
    /// [`SystemTime`]) is [`Deadline::Never`]: see [the rule](Expiration#one-rule-on-every-backend).
    pub fn deadline(self, now: SystemTime, default: Option<Duration>) -> Deadline {
        match self {
            Expiration::Default => match default {
                Some(ttl) => Expiration::After(ttl).deadline(now, None),
                None => Deadline::Never,
            },
            Expiration::Never => Deadline::Never,
            Expiration::After(ttl) => now
                .checked_add(ttl)
                .map_or(Deadline::Never, Deadline::within_reach),
            Expiration::At(at) => Deadline::within_reach(at),
        }
    }
}

impl From<Duration> for Expiration {
    fn from(ttl: Duration) -> Self {
        Expiration::After(ttl)
    }
}

impl From<Option<Duration>> for Expiration {
    /// `None` is [`Expiration::Default`], as PSR-16's `null` TTL.
    fn from(ttl: Option<Duration>) -> Self {
        ttl.map_or(Expiration::Default, Expiration::After)
    }
}

/// An absolute deadline, resolved from an [`Expiration`] at write time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Deadline {
    /// No deadline.
    Never,
    /// The entry is a miss from this instant on (inclusive).
    At(SystemTime),
}

impl Deadline {
    /// The latest deadline a write keeps, as a Unix time: 2038-01-01T00:00:00Z. Later
    /// deadlines are [`Deadline::Never`].
    ///
    /// memcached reads a lifetime over 30 days as an absolute Unix time in a signed 32-bit
    /// number, which ends on 2038-01-19; a later time wraps to the past and the server drops
    /// the entry while acknowledging the write. The limit is kept a few days short of that
    /// end, so that rounding up to whole seconds never crosses it, and it is applied on every
    /// backend alike, so that a backend change changes nothing observable.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use cache_store::{Deadline, Expiration};
    ///
    /// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000); // 2027
    /// let century = Expiration::After(Duration::from_secs(100 * 365 * 86_400));
    /// assert_eq!(century.deadline(now, None), Deadline::Never);
    /// let latest = Deadline::latest();
    /// assert_eq!(Expiration::At(latest).deadline(now, None), Deadline::At(latest));
    /// ```
    pub const LATEST_UNIX_TIME: Duration = Duration::from_secs(2_145_916_800);

    /// [`Deadline::LATEST_UNIX_TIME`] as a [`SystemTime`].
    pub fn latest() -> SystemTime {
        SystemTime::UNIX_EPOCH + Deadline::LATEST_UNIX_TIME
    }

    /// `at`, or [`Deadline::Never`] when it is later than [`Deadline::latest`].
    fn within_reach(at: SystemTime) -> Deadline {
        if at > Deadline::latest() {
            Deadline::Never
        } else {
            Deadline::At(at)
        }
    }

    /// Whether an entry with this deadline is expired at `now`. The deadline itself counts as
    /// expired: "once the expiration is reached", as PSR-6 puts it.
    pub fn is_expired(self, now: SystemTime) -> bool {
        match self {
            Deadline::Never => false,
            Deadline::At(at) => at <= now,
        }
    }

    /// What is left of the lifetime at `now`.
    pub fn remaining(self, now: SystemTime) -> Remaining {
        match self {
            Deadline::Never => Remaining::Forever,
            Deadline::At(at) => match at.duration_since(now) {
                Ok(left) if !left.is_zero() => Remaining::For(left),
                _ => Remaining::Expired,
            },
        }
    }
}

/// What is left of an entry's lifetime, the form in which backends receive it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Remaining {
    /// No deadline.
    Forever,
    /// Expires after this (never zero).
    For(Duration),
    /// Nothing is left: a write must delete the entry instead (never store it "forever").
    Expired,
}

impl Remaining {
    /// The lifetime in whole seconds for a backend with one-second resolution, rounded **up**:
    /// an entry never becomes a miss before its deadline, and `0 < t < 1 s` becomes 1 s rather
    /// than the 0 that Doctrine's bridge turns into "forever". `None` for
    /// [`Remaining::Forever`] and [`Remaining::Expired`].
    pub fn whole_seconds(self) -> Option<u64> {
        match self {
            Remaining::For(left) => Some(left.as_secs() + u64::from(left.subsec_nanos() > 0)),
            Remaining::Forever | Remaining::Expired => None,
        }
    }

    /// The lifetime in whole milliseconds, rounded up (so at least 1), for Redis `PX`.
    /// `None` for [`Remaining::Forever`] and [`Remaining::Expired`].
    pub fn whole_millis(self) -> Option<u64> {
        match self {
            Remaining::For(left) => {
                let millis = left.as_millis() + u128::from(left.subsec_nanos() % 1_000_000 > 0);
                Some(u64::try_from(millis).unwrap_or(u64::MAX))
            }
            Remaining::Forever | Remaining::Expired => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn default_uses_the_given_lifetime_or_never() {
        let now = t(100);
        assert_eq!(
            Expiration::Default.deadline(now, Some(Duration::from_secs(5))),
            Deadline::At(t(105))
        );
        assert_eq!(Expiration::Default.deadline(now, None), Deadline::Never);
        assert_eq!(
            Expiration::Never.deadline(now, Some(Duration::from_secs(5))),
            Deadline::Never
        );
    }

    #[test]
    fn zero_and_past_lifetimes_are_expired_never_forever() {
        let now = t(100);
        for exp in [
            Expiration::After(Duration::ZERO),
            Expiration::At(now),
            Expiration::At(t(99)),
            Expiration::At(SystemTime::UNIX_EPOCH),
        ] {
            let deadline = exp.deadline(now, None);
            assert!(deadline.is_expired(now), "{exp:?}");
            assert_eq!(deadline.remaining(now), Remaining::Expired, "{exp:?}");
        }
    }

    #[test]
    fn an_unrepresentable_lifetime_is_never() {
        assert_eq!(
            Expiration::After(Duration::MAX).deadline(t(1), None),
            Deadline::Never
        );
    }

    #[test]
    fn deadlines_past_the_latest_are_never_on_every_path() {
        let now = t(1_765_000_000); // December 2025
        let latest = Deadline::latest();
        let years = |n: u64| Duration::from_secs(n * 365 * 86_400);
        for far in [
            Expiration::After(years(13)),
            Expiration::After(years(100)),
            Expiration::After(Duration::from_secs(1_000_000_000_000)),
            Expiration::After(Duration::from_secs(100_000_000_000_000_000)),
            Expiration::At(now + years(40)),
            Expiration::At(latest + Duration::from_nanos(1)),
        ] {
            assert_eq!(far.deadline(now, None), Deadline::Never, "{far:?}");
            assert_eq!(far.deadline(now, None).remaining(now), Remaining::Forever);
        }
        assert_eq!(
            Expiration::Default.deadline(now, Some(years(50))),
            Deadline::Never
        );
        assert_eq!(
            Expiration::At(latest).deadline(now, None),
            Deadline::At(latest)
        );
        let near = Expiration::After(years(10));
        assert_eq!(near.deadline(now, None), Deadline::At(now + years(10)));
    }

    #[test]
    fn the_deadline_itself_is_expired() {
        let deadline = Deadline::At(t(10));
        assert!(!deadline.is_expired(t(10) - Duration::from_nanos(1)));
        assert!(deadline.is_expired(t(10)));
    }

    #[test]
    fn sub_second_remainders_round_up_to_one_second() {
        let r = Remaining::For(Duration::from_millis(1));
        assert_eq!(r.whole_seconds(), Some(1));
        assert_eq!(
            Remaining::For(Duration::from_millis(999)).whole_seconds(),
            Some(1)
        );
        assert_eq!(
            Remaining::For(Duration::from_secs(2)).whole_seconds(),
            Some(2)
        );
        assert_eq!(
            Remaining::For(Duration::from_millis(2001)).whole_seconds(),
            Some(3)
        );
        assert_eq!(Remaining::Expired.whole_seconds(), None);
        assert_eq!(Remaining::Forever.whole_seconds(), None);
    }

    #[test]
    fn millis_round_up_too() {
        assert_eq!(
            Remaining::For(Duration::from_nanos(1)).whole_millis(),
            Some(1)
        );
        assert_eq!(
            Remaining::For(Duration::from_millis(1500)).whole_millis(),
            Some(1500)
        );
        assert_eq!(
            Remaining::For(Duration::from_micros(1500)).whole_millis(),
            Some(2)
        );
    }
}
