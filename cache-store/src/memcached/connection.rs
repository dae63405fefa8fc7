//! One multiplexed connection per server: concurrent callers share one socket, their
//! pipelined commands written in order and their replies matched in order, as redis-rs does.
//!
//! A caller writes its request from its own task, under the connection's write lock, after
//! queueing its reply slot for the reader task in the same critical section (so slots and
//! requests keep one order). The reader task parses replies and completes the slots. Writing
//! from the caller saves a task hop per request; reading in a task of its own keeps a large
//! batch from deadlocking (a server stops reading while its replies are not read). A
//! connection that fails is dropped, and the next call dials a new one.
//!
//! The request timeout is kept by one watchdog task per connection instead of a timer per
//! request (which cost about 0.4 µs a call): a few times per timeout it looks at which request
//! the reader is waiting for (requests are numbered, so a caller reads no clock), and when the
//! same request has been awaited for longer than the timeout it has the reader fail every
//! waiting request and shut the socket down (which also frees a caller stuck writing to a
//! server that stopped reading). A request that gets no reply fails after the timeout, and
//! at most a quarter of it later.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

use super::protocol::{self, Reply};
use crate::error::{Error, ErrorKind, Result};

type Respond = oneshot::Sender<Result<Vec<Reply>>>;

/// A request waiting for its replies: how many, where they go, and its number on the
/// connection.
struct Slot {
    replies: usize,
    respond: Respond,
    number: u64,
}

/// The write side of a live connection: the socket, the reader's queue of reply slots, and
/// the number of the last request queued.
struct Writer {
    socket: OwnedWriteHalf,
    slots: mpsc::UnboundedSender<Slot>,
    numbered: u64,
}

/// What the reader and the watchdog share: the number of the request the reader is waiting
/// for (0: none; numbers start at 1), and the watchdog's signal that it waited too long.
#[derive(Default)]
struct Watch {
    awaiting: AtomicU64,
    expired: Notify,
}

/// A live connection. Dropping the last handle closes the socket's write side, which ends the
/// reader task once the server closes too.
struct Live {
    writer: Mutex<Writer>,
    broken: Arc<AtomicBool>,
}

/// The connection to one server, dialed on first use and again after a failure.
pub(super) struct ServerConnection {
    address: String,
    connect_timeout: Duration,
    request_timeout: Duration,
    live: std::sync::Mutex<Option<Arc<Live>>>,
    /// Held while dialing, so that concurrent callers after a failure dial once.
    dialing: Mutex<()>,
}

/// Marks a connection broken unless disarmed: a write interrupted half-way (the caller's
/// future dropped, or timed out) leaves the stream mid-command, unusable for anyone.
struct BreakUnlessDone<'a>(Option<&'a AtomicBool>);

impl BreakUnlessDone<'_> {
    fn done(mut self) {
        self.0 = None;
    }
}

impl Drop for BreakUnlessDone<'_> {
    fn drop(&mut self) {
        if let Some(broken) = self.0 {
            broken.store(true, Ordering::Release);
        }
    }
}

impl ServerConnection {
    pub(super) fn new(
        address: String,
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> Self {
        ServerConnection {
            address,
            connect_timeout,
            request_timeout,
            live: std::sync::Mutex::new(None),
            dialing: Mutex::new(()),
        }
    }

    pub(super) fn address(&self) -> &str {
        &self.address
    }

    /// Sends `payload` (pipelined commands) and waits for `replies` replies, in one round
    /// trip, within the request timeout. A classic `get` counts as one reply: its `VALUE`
    /// items come back followed by the `END` that is counted.
    pub(super) async fn call(&self, payload: &[u8], replies: usize) -> Result<Vec<Reply>> {
        if replies == 0 {
            return Ok(Vec::new());
        }
        let live = self.live().await?;
        // No timer here: the connection's watchdog fails this request if it waits too long.
        self.exchange(&live, payload, replies).await
    }

    async fn exchange(&self, live: &Live, payload: &[u8], replies: usize) -> Result<Vec<Reply>> {
        let (respond, response) = oneshot::channel();
        {
            let mut writer = live.writer.lock().await;
            if live.broken.load(Ordering::Acquire) {
                return Err(self.unavailable("the connection broke"));
            }
            writer.numbered += 1;
            let slot = Slot {
                replies,
                respond,
                number: writer.numbered,
            };
            if writer.slots.send(slot).is_err() {
                live.broken.store(true, Ordering::Release);
                return Err(self.unavailable("the connection closed"));
            }
            let interrupted = BreakUnlessDone(Some(&live.broken));
            if let Err(e) = writer.socket.write_all(payload).await {
                // The reader fails the queued slots when the socket closes.
                let _ = writer.socket.shutdown().await;
                return Err(self.unavailable("writing failed").with_source(e));
            }
            interrupted.done();
        }
        match response.await {
            Ok(result) => result,
            Err(_) => Err(self.unavailable("the connection closed before replying")),
        }
    }

    fn unavailable(&self, what: &str) -> Error {
        Error::new(
            ErrorKind::Unavailable,
            format!("memcached {}: {what}", self.address),
        )
    }

    /// The live connection, if there is one that has not failed.
    fn current(&self) -> Option<Arc<Live>> {
        // Only ever replaced whole; a panic elsewhere cannot leave it half-written.
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.as_ref()
            .filter(|l| !l.broken.load(Ordering::Acquire))
            .cloned()
    }

    /// The live connection, dialing one if there is none or it broke.
    async fn live(&self) -> Result<Arc<Live>> {
        if let Some(live) = self.current() {
            return Ok(live);
        }
        let _dialing = self.dialing.lock().await;
        if let Some(live) = self.current() {
            return Ok(live); // another caller dialed while this one waited
        }
        let stream =
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(&self.address))
                .await
            {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => return Err(self.unavailable("cannot connect").with_source(e)),
                Err(_) => {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "connecting to memcached {} took longer than {:?}",
                            self.address, self.connect_timeout
                        ),
                    ));
                }
            };
        // Small pipelined requests must not wait for Nagle.
        stream.set_nodelay(true).ok();
        let (reader, socket) = stream.into_split();
        let (slots, slot_queue) = mpsc::unbounded_channel();
        let broken = Arc::new(AtomicBool::new(false));
        let watch = Arc::new(Watch::default());
        tokio::spawn(read_replies(
            reader,
            slot_queue,
            Arc::clone(&broken),
            Arc::clone(&watch),
            self.address.clone(),
            self.request_timeout,
        ));
        tokio::spawn(watchdog(watch, Arc::clone(&broken), self.request_timeout));
        let live = Arc::new(Live {
            writer: Mutex::new(Writer {
                socket,
                slots,
                numbered: 0,
            }),
            broken,
        });
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&live));
        Ok(live)
    }
}

/// Fails the connection's waiting requests once the oldest has waited longer than `timeout`;
/// ends when the connection breaks or expires.
async fn watchdog(watch: Arc<Watch>, broken: Arc<AtomicBool>, timeout: Duration) {
    // Eight looks per timeout: a request is sighted within an eighth of it after being
    // queued, and its expiry within an eighth of it after passing the timeout.
    let mut tick = tokio::time::interval((timeout / 8).max(Duration::from_millis(5)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The request awaited at the last look, and when it was first seen awaited. It was
    // queued at most one tick before that sighting, so failing it `timeout` after the
    // sighting fails it past the timeout, and at most two ticks past.
    let mut seen: Option<(u64, Instant)> = None;
    loop {
        tick.tick().await;
        if broken.load(Ordering::Acquire) {
            return;
        }
        let awaiting = watch.awaiting.load(Ordering::Acquire);
        seen = match seen {
            _ if awaiting == 0 => None,
            Some((number, since)) if number == awaiting => {
                if since.elapsed() > timeout {
                    watch.expired.notify_one();
                    return;
                }
                Some((number, since))
            }
            _ => Some((awaiting, Instant::now())),
        };
    }
}

/// Reads replies and completes the slots in order.
async fn read_replies(
    mut reader: OwnedReadHalf,
    mut slots: mpsc::UnboundedReceiver<Slot>,
    broken: Arc<AtomicBool>,
    watch: Arc<Watch>,
    address: String,
    timeout: Duration,
) {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let failure = 'outer: loop {
        watch.awaiting.store(0, Ordering::Release);
        let Some(slot) = slots.recv().await else {
            return; // the writer is gone: the connection was dropped
        };
        watch.awaiting.store(slot.number, Ordering::Release);
        let mut replies = Vec::with_capacity(slot.replies);
        let mut counted = 0;
        while counted < slot.replies {
            match protocol::parse(&mut buf) {
                Ok(Some(reply)) => {
                    if !matches!(reply, Reply::Item { .. }) {
                        counted += 1;
                    }
                    replies.push(reply);
                }
                Ok(None) => {
                    let read = tokio::select! {
                        biased;
                        () = watch.expired.notified() => {
                            let err = Error::new(
                                ErrorKind::Timeout,
                                format!("memcached {address} did not reply within {timeout:?}"),
                            );
                            let _ = slot.respond.send(Err(err.clone()));
                            // Shutting the socket down also frees a caller stuck writing to a
                            // server that stopped reading.
                            let _ = socket2::SockRef::from(reader.as_ref())
                                .shutdown(std::net::Shutdown::Both);
                            break 'outer err;
                        }
                        read = reader.read_buf(&mut buf) => read,
                    };
                    match read {
                        Ok(0) => {
                            let _ = slot.respond.send(Err(closed(&address)));
                            break 'outer closed(&address);
                        }
                        Ok(_) => {}
                        Err(e) => {
                            let err = Error::new(
                                ErrorKind::Unavailable,
                                format!("reading from memcached {address}"),
                            )
                            .with_source(e);
                            let _ = slot.respond.send(Err(err.clone()));
                            break 'outer err;
                        }
                    }
                }
                Err(what) => {
                    let err = Error::new(
                        ErrorKind::Unavailable,
                        format!("memcached {address} sent {what}"),
                    )
                    .with_retryable(false);
                    let _ = slot.respond.send(Err(err.clone()));
                    break 'outer err;
                }
            }
        }
        // A caller that gave up (cancellation) dropped its receiver: nothing to do.
        let _ = slot.respond.send(Ok(replies));
    };
    broken.store(true, Ordering::Release);
    slots.close();
    while let Some(slot) = slots.recv().await {
        let _ = slot.respond.send(Err(failure.clone()));
    }
}

fn closed(address: &str) -> Error {
    Error::new(
        ErrorKind::Unavailable,
        format!("memcached {address} closed the connection"),
    )
}
