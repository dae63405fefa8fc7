//! Lifetimes at the edges, shared by the kits: far ones that some servers cannot represent,
//! and near ones that a coarse server clock could cut short.

use std::time::{Duration, SystemTime};

use cache_store::Expiration;

const YEAR: Duration = Duration::from_secs(365 * 86_400);

/// Far lifetimes, each past [`Deadline::latest`](cache_store::Deadline::latest): 13 and 100
/// years, an instant 40 years ahead, `1e12 s`, `1e17 s` and [`Duration::MAX`]. Every backend
/// must acknowledge a write of each and keep it (as an entry without a deadline).
pub fn far_expirations(now: SystemTime) -> Vec<(&'static str, Expiration)> {
    vec![
        ("13 years", Expiration::After(YEAR * 13)),
        ("100 years", Expiration::After(YEAR * 100)),
        ("40 years ahead", Expiration::At(now + YEAR * 40)),
        (
            "1e12 s",
            Expiration::After(Duration::from_secs(1_000_000_000_000)),
        ),
        (
            "1e17 s",
            Expiration::After(Duration::from_secs(100_000_000_000_000_000)),
        ),
        ("Duration::MAX", Expiration::After(Duration::MAX)),
    ]
}

/// How long past its deadline a backend may still return an entry: memcached's clock counts
/// whole seconds, and an entry there is kept up to two seconds past its deadline so that it
/// is never a miss before it. Backends with a finer clock stay well inside this.
pub const LATE_EXPIRY_SLACK: Duration = Duration::from_secs(2);
