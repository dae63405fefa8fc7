//! The request timeout of every memcached connection, kept by one thread for the whole
//! process instead of a timer per request or a timer task per connection.
//!
//! A timer costs the async runtime work on every request (registering it, and a look at the
//! timer wheel each time the runtime parks), which on a loopback round trip of about 20 µs
//! was measurable. Here a request costs two atomic stores: the connection's leader publishes
//! the number of the request it waits for ([`Watch::awaiting`]). A few times per timeout the
//! thread looks at every connection; when one has been waiting for the same request longer
//! than its timeout, it marks the connection [`Watch::expired`] and shuts its socket down.
//! The shutdown wakes the leader (its read ends), which then fails the waiting requests with
//! a timeout, and frees a caller stuck writing to a server that stopped reading.
//!
//! The thread starts with the first connection and sleeps on a condition variable while no
//! connection is open.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

/// The shortest interval between two looks, whatever the timeouts.
const MIN_TICK: Duration = Duration::from_millis(5);

/// What a connection shares with the watchdog.
pub(crate) struct Watch {
    /// The number of the request the leader waits for; 0 for none (numbers start at 1).
    pub(crate) awaiting: AtomicU64,
    /// Set, before the socket is shut down, when a request waited too long: the leader then
    /// reports a timeout rather than a closed connection.
    pub(crate) expired: AtomicBool,
    /// Set when the connection's reading ended (it failed or closed): the watchdog forgets
    /// it. Not the connection's "broken" flag: a connection broken by an interrupted write
    /// stops taking requests but may still have callers waiting for replies, which the
    /// watchdog must keep timing.
    pub(crate) ended: AtomicBool,
    timeout: Duration,
    /// A second handle on the connection's socket, to shut it down from this thread.
    socket: socket2::Socket,
}

impl Watch {
    /// Watches the connection whose socket `socket` is (a duplicate of the connection's own
    /// handle), with `timeout` per request.
    pub(crate) fn start(socket: socket2::Socket, timeout: Duration) -> std::io::Result<Arc<Watch>> {
        let watch = Arc::new(Watch {
            awaiting: AtomicU64::new(0),
            expired: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            timeout,
            socket,
        });
        Watchdog::get()?.add(&watch);
        Ok(watch)
    }

    /// Shuts the connection's socket down, which ends its pending reads and writes.
    pub(crate) fn shutdown(&self) {
        // A socket the server already closed has nothing left to wake.
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }

    /// How often this connection must be looked at: eight looks per timeout, so a request is
    /// sighted within an eighth of it after being queued.
    fn tick(&self) -> Duration {
        (self.timeout / 8).max(MIN_TICK)
    }
}

/// A watched connection and the request it was last seen waiting for, with when that was
/// first seen.
struct Watched {
    watch: Weak<Watch>,
    seen: Option<(u64, Instant)>,
}

/// The process's watchdog: the watched connections, the signal that a new one came, and
/// whether its thread runs.
struct Watchdog {
    watched: Mutex<Vec<Watched>>,
    added: Condvar,
    running: AtomicBool,
}

static WATCHDOG: OnceLock<Watchdog> = OnceLock::new();

impl Watchdog {
    /// The watchdog, with its thread started on first use (and again, should starting it
    /// have failed before).
    fn get() -> std::io::Result<&'static Watchdog> {
        let dog = WATCHDOG.get_or_init(|| Watchdog {
            watched: Mutex::new(Vec::new()),
            added: Condvar::new(),
            running: AtomicBool::new(false),
        });
        // Of racing first callers, the one that flips `running` starts the thread.
        if !dog.running.load(Ordering::Acquire) && !dog.running.swap(true, Ordering::AcqRel) {
            let started = std::thread::Builder::new()
                .name("memcached-watchdog".into())
                .spawn(move || dog.run());
            if let Err(err) = started {
                dog.running.store(false, Ordering::Release);
                return Err(err);
            }
        }
        Ok(dog)
    }

    fn add(&self, watch: &Arc<Watch>) {
        self.lock().push(Watched {
            watch: Arc::downgrade(watch),
            seen: None,
        });
        // Wake the thread: it may be idle, or sleeping a tick longer than this one's.
        self.added.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Watched>> {
        // The list stays consistent whatever panicked while holding it (only whole entries
        // are pushed and removed).
        self.watched.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn run(&self) {
        let mut watched = self.lock();
        loop {
            let now = Instant::now();
            watched.retain_mut(|entry| look(entry, now));
            let tick = watched
                .iter()
                .filter_map(|entry| entry.watch.upgrade().map(|w| w.tick()))
                .min();
            watched = match tick {
                None => self
                    .added
                    .wait(watched)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(tick) => {
                    self.added
                        .wait_timeout(watched, tick)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}

/// Looks at one connection: expires it if the same request has waited longer than its
/// timeout. Returns whether to keep watching it.
fn look(entry: &mut Watched, now: Instant) -> bool {
    let Some(watch) = entry.watch.upgrade() else {
        return false; // the connection is gone
    };
    if watch.ended.load(Ordering::Acquire) {
        return false;
    }
    let awaiting = watch.awaiting.load(Ordering::Acquire);
    // A request was queued at most one tick before it was first seen awaited, so failing it
    // a timeout after that sighting fails it past its timeout, and at most two ticks past.
    entry.seen = match entry.seen {
        _ if awaiting == 0 => None,
        Some((number, since)) if number == awaiting => {
            if now.duration_since(since) > watch.timeout {
                watch.expired.store(true, Ordering::Release);
                // Wakes the leader and any caller blocked writing.
                watch.shutdown();
                return false;
            }
            Some((number, since))
        }
        _ => Some((awaiting, now)),
    };
    true
}
