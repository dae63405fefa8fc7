//! Stampede protection across processes: a miss is computed once by every process sharing the
//! store, under a lease kept in the store itself.

use std::future::Future;
use std::time::Duration;

use cache_store::lock::{Lock, LockOptions, Locks};
use cache_store::{Result, Store};

/// How [`Pool::get`](crate::CacheItemPoolExt::get) shares a computation with other processes:
/// the caller that misses first takes a **lease** on the key in the store (an atomic add, its
/// own random token, a lifetime); callers in every other process that miss meanwhile wait for
/// the value it saves instead of computing it too.
///
/// - The owner refreshes its lease while it computes (every third of the lease's lifetime),
///   so a long computation keeps it; a crashed owner costs at most the lease's lifetime, after
///   which a waiter takes over.
/// - Waiters read the key again after each pause (doubling from 5 ms to 100 ms, jittered);
///   they return as soon as the value is there, and take the lease themselves when its owner
///   finished without saving (its computation failed, or said not to save).
/// - A waiter that has waited [`wait`](Self::wait) computes by itself, with a warning: a
///   stuck owner slows every process down, but stops none.
/// - A hit elected for early recomputation, and a stale value (with
///   [`PoolBuilder::stale_while_revalidate`](crate::PoolBuilder::stale_while_revalidate)), is
///   recomputed by the lease's owner alone: every other caller gets the value at hand at once.
///
/// The lease of key `k` is the entry `k` + `"\0lease"` of the pool's store, holding its
/// owner's token.
///
/// ```
/// use std::time::Duration;
/// use cache_pool::{CacheItemPoolExt, Computed, Lease, Pool};
/// use cache_store::memory::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let pool = Pool::builder(MemoryStore::builder().build()?)
///     .lease(Lease::new(Duration::from_secs(10)))
///     .build();
/// let report = pool.get("report", |_| async { Ok(Computed::new("42 users")) }).await?;
/// assert_eq!(&report[..], b"42 users");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    ttl: Duration,
    wait: Duration,
}

impl Lease {
    /// Leases of `ttl` (at least 30 ms), which is what an owner's crash costs at most; waiters
    /// wait up to 30 s.
    pub fn new(ttl: Duration) -> Self {
        Lease {
            ttl: ttl.max(Duration::from_millis(30)),
            wait: Duration::from_secs(30),
        }
    }

    /// How long a waiter waits for the owner's value before computing by itself.
    #[must_use]
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// The lease's lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How long waiters wait.
    pub fn wait_limit(&self) -> Duration {
        self.wait
    }
}

impl Default for Lease {
    /// Leases of 10 s.
    fn default() -> Self {
        Lease::new(Duration::from_secs(10))
    }
}

/// The first pause of a waiter, and the longest.
const FIRST_PAUSE: Duration = Duration::from_millis(5);
const LONGEST_PAUSE: Duration = Duration::from_millis(100);

/// A pool's leases: the locks of its store, and how long to wait.
#[derive(Debug)]
pub(crate) struct Leases<S: Store + 'static> {
    locks: Locks<S>,
    lease: Lease,
}

impl<S: Store + 'static> Leases<S> {
    pub(super) fn new(store: std::sync::Arc<S>, lease: Lease) -> Self {
        Leases {
            locks: Locks::shared(store)
                .with_options(LockOptions::new(lease.ttl).wait(Duration::ZERO)),
            lease,
        }
    }

    /// The lease of `key` if it is free.
    pub(crate) async fn try_take(&self, key: &str) -> Result<Option<Lock>> {
        self.locks.try_acquire(&lease_key(key)).await
    }

    /// Runs `work` while keeping `lease` alive, then releases it (whatever `work` gave). A
    /// caller that gives up (drops this future) releases it in the background, so waiters
    /// elsewhere do not wait for its expiry.
    pub(crate) async fn holding<T>(&self, lease: Lock, work: impl Future<Output = T>) -> T {
        let mut held = Held {
            locks: &self.locks,
            lease: Some(lease.clone()),
        };
        let out = {
            let work = std::pin::pin!(work);
            self.refreshing(&lease, work).await
        };
        // Released here, awaited, rather than by the guard.
        held.lease = None;
        match self.locks.release(&lease).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                key = lease.key(),
                "a lease ended before its computation did: another process may have computed too (lengthen the lease)"
            ),
            Err(err) => {
                tracing::warn!(key = lease.key(), error = %err, "releasing a lease failed; it ends at its expiry");
            }
        }
        out
    }

    async fn refreshing<T>(
        &self,
        lease: &Lock,
        mut work: std::pin::Pin<&mut impl Future<Output = T>>,
    ) -> T {
        let every = self.lease.ttl / 3;
        loop {
            tokio::select! {
                out = &mut work => return out,
                () = tokio::time::sleep(every) => {
                    if let Err(err) = self.locks.refresh(lease).await {
                        tracing::warn!(key = lease.key(), error = %err, "refreshing a lease failed");
                    }
                }
            }
        }
    }

    /// The pauses of a waiter, until it has waited [`Lease::wait`]: `None` once it has.
    pub(crate) fn waiting(&self) -> Waiting {
        Waiting {
            until: tokio::time::Instant::now() + self.lease.wait,
            pause: FIRST_PAUSE,
        }
    }
}

/// A lease held while its computation runs: released in the background if the computation
/// is dropped before it ends.
struct Held<'a, S: Store + 'static> {
    locks: &'a Locks<S>,
    lease: Option<Lock>,
}

impl<S: Store + 'static> Drop for Held<'_, S> {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take() {
            self.locks.release_in_background(lease);
        }
    }
}

/// A waiter's pauses.
pub(crate) struct Waiting {
    until: tokio::time::Instant,
    pause: Duration,
}

impl Waiting {
    /// Sleeps the next pause; `false`, without sleeping, once the wait is over.
    pub(crate) async fn pause(&mut self) -> bool {
        let now = tokio::time::Instant::now();
        if now >= self.until {
            return false;
        }
        let nanos = u64::try_from(self.pause.as_nanos()).unwrap_or(u64::MAX);
        let pause = Duration::from_nanos(fastrand::u64(nanos / 2..=nanos));
        tokio::time::sleep(pause.min(self.until - now)).await;
        self.pause = (self.pause * 2).min(LONGEST_PAUSE);
        true
    }
}

/// The key of `key`'s lease.
fn lease_key(key: &str) -> String {
    [key, "\0lease"].concat()
}

/// The key of `key`'s stale copy (kept with
/// [`stale_while_revalidate`](crate::PoolBuilder::stale_while_revalidate)).
pub(super) fn stale_key(key: &str) -> String {
    [key, "\0stale"].concat()
}
