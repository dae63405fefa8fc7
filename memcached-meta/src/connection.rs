//! One multiplexed connection per server: concurrent callers share one socket, their
//! pipelined commands written in order and their replies matched in order.
//!
//! There is no reader task. A caller writes its request under the connection's write lock,
//! queueing its reply slot in the same critical section (so slots and requests keep one
//! order), and then reads replies itself: whoever holds the read lock (the leader) parses
//! replies in order and hands each waiting caller its own, until its own request is answered;
//! then the next waiting caller leads. A caller alone on the connection (the common case)
//! therefore writes, reads and returns without any hand-over: measured on the project
//! machine, a reader task's hop cost about 4% of a loopback round trip.
//!
//! A caller writes and reads at the same time, so that a batch larger than the socket
//! buffers cannot deadlock (a server stops reading while its replies are not read). Every
//! piece of reading state lives in the connection, not in a caller's future, so a caller
//! dropped half-way (cancelled, or timed out by the user) leaves the next leader to carry
//! on. A connection that fails is dropped, and the next call dials a new one.
//!
//! The request timeout is kept by the process's watchdog thread (`watchdog.rs`): the
//! leader publishes which request it waits for (requests are numbered, so no clock is read
//! per call), and when the same request has waited longer than the timeout the watchdog
//! shuts the socket down, after which the leader fails every waiting request with a timeout.
//! A request that gets no reply fails after the timeout, and at most a quarter of it later.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, MutexGuard, oneshot};

use crate::auth::{Credentials, authenticate};
use crate::backoff::Backoff;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{self, Reply};
use crate::socket::{ReadSide, WriteSide};
#[cfg(feature = "tls")]
use crate::tls::Tls;
use crate::watchdog::Watch;

type Respond = oneshot::Sender<Result<Vec<Reply>>>;

/// The first pause after a failed dial when none is configured.
pub const DEFAULT_RECONNECT_MIN_DELAY: Duration = Duration::from_millis(100);
/// The longest pause between dials when none is configured.
pub const DEFAULT_RECONNECT_MAX_DELAY: Duration = Duration::from_secs(2);

/// A request waiting for its replies: how many, where they go, its number on the
/// connection, and whether the last of them answers a wake-up no-op of the client's own
/// (see [`WAKE_UP_AFTER`]), not the caller's.
struct Slot {
    replies: usize,
    respond: Respond,
    number: u64,
    woken: bool,
}

/// Over TLS, a request longer than this is followed by a no-op (`mn`) in a TLS record of its
/// own, whose reply the caller never sees.
///
/// memcached before 1.6.39 (Debian 12 ships 1.6.18) can stall on pipelined sets over TLS: a
/// set's data read straight from the connection makes OpenSSL decrypt a whole record, the
/// rest of which (the next commands) waits in OpenSSL's buffer while the server sleeps until
/// the socket has more bytes (fixed upstream by memcached commit 96e05b75f, "tls: fix
/// potential hang when pipelining sets"). Bytes arriving after the request's last record
/// wake it. A request within one record has its data read from memcached's 16 KiB read
/// buffer, never straight, so only longer ones need the wake-up (this bound leaves room for
/// a record split).
const WAKE_UP_AFTER: usize = 4096;

/// memcached's no-op, sent to wake a server up (see [`WAKE_UP_AFTER`]).
const NO_OP: &[u8] = b"mn\r\n";

/// The write side of a live connection: the socket and the number of the last request
/// written.
struct Writer {
    socket: WriteSide,
    numbered: u64,
}

/// The read side of a live connection, held by the leader: the socket, what was read and not
/// yet parsed, the request being answered with the replies parsed for it so far, and the
/// failure that ended the connection, once there is one.
struct Reader {
    socket: ReadSide,
    buf: BytesMut,
    answering: Option<Answering>,
    failed: Option<Error>,
}

/// A request whose replies are being parsed.
struct Answering {
    slot: Slot,
    replies: Vec<Reply>,
    counted: usize,
}

/// A live connection. Dropping the last handle closes the socket.
struct Live {
    writer: Mutex<Writer>,
    reader: Mutex<Reader>,
    /// Requests written and not yet being answered, in the order they were written.
    queued: std::sync::Mutex<VecDeque<Slot>>,
    broken: AtomicBool,
    watch: Arc<Watch>,
}

/// The connection to one server, dialed on first use and again after a failure, shared by
/// every caller: each call is one pipelined request and its replies, in one round trip.
///
/// ```no_run
/// use std::time::Duration;
/// use memcached_meta::{Connection, Reply, protocol};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), memcached_meta::Error> {
/// let server = Connection::new("127.0.0.1:11211", Duration::from_secs(1), Duration::from_secs(1));
/// let mut request = Vec::new();
/// protocol::meta_set(&mut request, b"greeting", b"hello", 0, 60, protocol::SetMode::Set);
/// protocol::meta_get(&mut request, b"greeting", true, false, None);
/// let replies = server.call(&request, 2).await?;
/// assert!(matches!(&replies[1], Reply::Value { data, .. } if &data[..] == b"hello"));
/// # Ok(())
/// # }
/// ```
pub struct Connection {
    address: String,
    connect_timeout: Duration,
    request_timeout: Duration,
    backoff: Backoff,
    credentials: Option<Credentials>,
    #[cfg(feature = "tls")]
    tls: Option<Tls>,
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

/// Clears the request the watchdog times when its leader stops leading, however it stops.
struct Leading<'a>(&'a Watch);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        self.0.awaiting.store(0, Ordering::Release);
    }
}

impl Live {
    fn queued(&self) -> std::sync::MutexGuard<'_, VecDeque<Slot>> {
        // Only whole slots are pushed and popped: a panic elsewhere leaves it consistent.
        self.queued.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("address", &self.address)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("backoff", &self.backoff)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// The connection to the server at `address` (`host:port`), dialed on the first call
    /// within `connect_timeout`; a request without its replies after `request_timeout` fails
    /// (the connection is then dropped and dialed again by the next call). After a failed
    /// dial, calls fail at once for a pause of [`DEFAULT_RECONNECT_MIN_DELAY`], doubling up
    /// to [`DEFAULT_RECONNECT_MAX_DELAY`] while the server stays away (see
    /// [`with_reconnect_delays`](Self::with_reconnect_delays)).
    pub fn new(
        address: impl Into<String>,
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> Self {
        Connection {
            address: address.into(),
            connect_timeout,
            request_timeout,
            backoff: Backoff::new(DEFAULT_RECONNECT_MIN_DELAY, DEFAULT_RECONNECT_MAX_DELAY),
            credentials: None,
            #[cfg(feature = "tls")]
            tls: None,
            live: std::sync::Mutex::new(None),
            dialing: Mutex::new(()),
        }
    }

    /// The pause after a failed dial before the next one: `min` after the first failure,
    /// twice as long after each next one, never more than `max`; calls made during a pause
    /// fail at once ([`ErrorKind::Unavailable`], retryable) instead of each waiting for a
    /// connect timeout. Zero for both dials again on every call.
    pub fn with_reconnect_delays(mut self, min: Duration, max: Duration) -> Self {
        self.backoff = Backoff::new(min, max);
        self
    }

    /// Authenticates every new connection with memcached's ASCII authentication (servers
    /// started with `-Y <file>`), within the connect timeout. Give credentials only to such
    /// servers: another server would store them as an ordinary item named `auth`.
    pub fn with_credentials(
        mut self,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials {
            user: user.into(),
            password: password.into(),
        });
        self
    }

    /// Speaks TLS to the server (memcached started with `-Z`), within the connect timeout.
    ///
    /// A request longer than 4 KiB is then followed by memcached's no-op (`mn`) in a TLS
    /// record of its own, answered and dropped by the connection: it wakes servers before
    /// 1.6.39, which can otherwise leave the tail of pipelined sets unread in OpenSSL's buffer
    /// until the request times out.
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, tls: Tls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The server's address, as given.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Sends `payload` (pipelined commands) and waits for `replies` replies, in one round
    /// trip, within the request timeout. A classic `get` counts as one reply: its `VALUE`
    /// items come back followed by the `END` that is counted.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unavailable`] when the server cannot be reached or the connection
    /// breaks (retryable), or sends something that is not memcached protocol (not
    /// retryable); [`ErrorKind::Timeout`] past the connect or request timeout.
    pub async fn call(&self, payload: &[u8], replies: usize) -> Result<Vec<Reply>> {
        if replies == 0 {
            return Ok(Vec::new());
        }
        let live = self.live().await?;
        // No timer here: the watchdog fails this request if it waits too long.
        self.exchange(&live, payload, replies).await
    }

    async fn exchange(&self, live: &Live, payload: &[u8], replies: usize) -> Result<Vec<Reply>> {
        let (respond, mut response) = oneshot::channel();
        let mut writer = live.writer.lock().await;
        if live.broken.load(Ordering::Acquire) {
            return Err(self.unavailable("the connection broke"));
        }
        writer.numbered += 1;
        let number = writer.numbered;
        let woken = payload.len() > WAKE_UP_AFTER && writer.socket.is_tls();
        live.queued().push_back(Slot {
            replies: replies + usize::from(woken),
            respond,
            number,
            woken,
        });
        let write = async move {
            let interrupted = BreakUnlessDone(Some(&live.broken));
            // Flushed too, so that the wake-up is a record of its own (a no-op on plain TCP).
            let mut written = write_flushed(&mut writer.socket, payload).await;
            if woken && written.is_ok() {
                written = write_flushed(&mut writer.socket, NO_OP).await;
            }
            if written.is_ok() {
                interrupted.done();
            } else {
                // Broken (the guard, dropped here); the leader fails the queued requests when
                // its read ends.
                drop(interrupted);
                let _ = writer.socket.shutdown().await;
            }
            // The write lock is released here, before the replies are awaited.
            drop(writer);
            written
        };
        // Written and read together: see the module's notes on large batches.
        let (written, answer) = tokio::join!(write, self.answer(live, number, &mut response));
        match written {
            Ok(()) => answer,
            Err(e) => Err(self.unavailable("writing failed").with_source(e)),
        }
    }

    /// The replies to request `number`: read by this caller while it holds the read lock, or
    /// handed over by the caller that does.
    async fn answer(
        &self,
        live: &Live,
        number: u64,
        response: &mut oneshot::Receiver<Result<Vec<Reply>>>,
    ) -> Result<Vec<Reply>> {
        // Alone on the connection: lead at once, with no waiting on the hand-over channel.
        if let Ok(reader) = live.reader.try_lock() {
            return self.lead(live, reader, number, response).await;
        }
        tokio::select! {
            biased;
            answer = &mut *response => answer.unwrap_or_else(|_| Err(self.lost())),
            reader = live.reader.lock() => self.lead(live, reader, number, response).await,
        }
    }

    /// Reads replies and hands them to their requests, in order, until request `number` is
    /// answered.
    async fn lead(
        &self,
        live: &Live,
        mut reader: MutexGuard<'_, Reader>,
        number: u64,
        response: &mut oneshot::Receiver<Result<Vec<Reply>>>,
    ) -> Result<Vec<Reply>> {
        // The watchdog times a request only while a leader waits for it: requests whose
        // callers all gave up wait, unread, for the next caller, and are not a timeout.
        let _leading = Leading(&live.watch);
        if let Some(answering) = &reader.answering {
            live.watch
                .awaiting
                .store(answering.slot.number, Ordering::Release);
        }
        loop {
            let Reader {
                socket,
                buf,
                answering,
                failed,
            } = &mut *reader;
            if failed.is_some() {
                break;
            }
            let Some(current) = answering else {
                // The previous leader may have answered this request before handing over.
                match response.try_recv() {
                    Ok(answer) => return answer,
                    Err(oneshot::error::TryRecvError::Closed) => return Err(self.lost()),
                    Err(oneshot::error::TryRecvError::Empty) => {}
                }
                let next = live.queued().pop_front();
                match next {
                    Some(slot) => {
                        live.watch.awaiting.store(slot.number, Ordering::Release);
                        *answering = Some(Answering {
                            replies: Vec::with_capacity(slot.replies),
                            slot,
                            counted: 0,
                        });
                    }
                    // Not answered, and not queued: lost (cannot happen while the
                    // connection works; answered rather than waited for forever).
                    None => return Err(self.lost()),
                }
                continue;
            };
            match protocol::parse(buf) {
                Ok(Some(Reply::Error(line))) if loses_the_stream(&line) => {
                    let err = Error::new(
                        ErrorKind::Unavailable,
                        format!(
                            "memcached {} answered {line:?}: it no longer reads the commands as \
                             they were sent (a refused command line leaves its data to be read \
                             as a command), so the connection is closed and its requests fail",
                            self.address
                        ),
                    )
                    .with_retryable(false);
                    *failed = Some(self.ended(live, err));
                }
                Ok(Some(reply)) => {
                    // A multi-get's items and the stats' lines come before the `END` counted.
                    if !matches!(reply, Reply::Item { .. } | Reply::Stat { .. }) {
                        current.counted += 1;
                    }
                    current.replies.push(reply);
                    if current.counted == current.slot.replies
                        && let Some(done) = answering.take()
                    {
                        let (slot, replies) = self.callers_replies(done);
                        if slot.number == number {
                            return replies;
                        }
                        // A caller that gave up dropped its receiver: nothing to do.
                        let _ = slot.respond.send(replies);
                    }
                }
                Ok(None) => match socket.read_buf(buf).await {
                    Ok(0) => *failed = Some(self.ended(live, closed(&self.address))),
                    Ok(_) => {}
                    Err(e) => {
                        let err = Error::new(
                            ErrorKind::Unavailable,
                            format!("reading from memcached {}", self.address),
                        )
                        .with_source(e);
                        *failed = Some(self.ended(live, err));
                    }
                },
                Err(what) => {
                    let err = Error::new(
                        ErrorKind::Unavailable,
                        format!("memcached {} sent {what}", self.address),
                    )
                    .with_retryable(false);
                    *failed = Some(self.ended(live, err));
                }
            }
        }
        // The connection failed: every request on it fails, this one included.
        let err = reader.failed.clone().unwrap_or_else(|| self.lost());
        if let Some(done) = reader.answering.take()
            && done.slot.number != number
        {
            let _ = done.slot.respond.send(Err(err.clone()));
        }
        let queued: Vec<Slot> = live.queued().drain(..).collect();
        for slot in queued {
            if slot.number != number {
                let _ = slot.respond.send(Err(err.clone()));
            }
        }
        match response.try_recv() {
            Ok(answer) => answer,
            Err(_) => Err(err),
        }
    }

    /// A request's slot and its caller's replies: without the wake-up's, which must be the
    /// no-op's answer.
    fn callers_replies(&self, done: Answering) -> (Slot, Result<Vec<Reply>>) {
        let Answering {
            slot, mut replies, ..
        } = done;
        if slot.woken && replies.pop() != Some(Reply::NoOp) {
            let err = Error::new(
                ErrorKind::Unavailable,
                format!(
                    "memcached {} did not answer the no-op that ended a request",
                    self.address
                ),
            )
            .with_retryable(false);
            return (slot, Err(err));
        }
        (slot, Ok(replies))
    }

    /// Marks the connection failed, and tells why: a timeout when the watchdog ended it.
    ///
    /// (A `CLIENT_ERROR` or `ERROR` reply ends it too, see [`loses_the_stream`].)
    fn ended(&self, live: &Live, failure: Error) -> Error {
        live.broken.store(true, Ordering::Release);
        live.watch.ended.store(true, Ordering::Release);
        // Frees a caller stuck writing to a server that stopped reading.
        live.watch.shutdown();
        if live.watch.expired.load(Ordering::Acquire) {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "memcached {} did not reply within {:?}",
                    self.address, self.request_timeout
                ),
            )
        } else {
            failure
        }
    }

    fn lost(&self) -> Error {
        self.unavailable("the connection closed before replying")
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
        if let Some(wait) = self.backoff.wait() {
            return Err(
                self.unavailable(&format!("the last dial failed; the next one in {wait:?}"))
            );
        }
        let (reader, writer, watched) =
            match tokio::time::timeout(self.connect_timeout, self.dial()).await {
                Ok(Ok(dialed)) => {
                    self.backoff.succeeded();
                    dialed
                }
                Ok(Err(e)) => {
                    self.backoff.failed();
                    return Err(e);
                }
                Err(_) => {
                    self.backoff.failed();
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "connecting to memcached {} took longer than {:?}",
                            self.address, self.connect_timeout
                        ),
                    ));
                }
            };
        let watch = Watch::start(watched, self.request_timeout).map_err(|e| {
            self.unavailable("cannot watch the connection")
                .with_source(e)
        })?;
        let live = Arc::new(Live {
            writer: Mutex::new(Writer {
                socket: writer,
                numbered: 0,
            }),
            reader: Mutex::new(Reader {
                socket: reader,
                buf: BytesMut::with_capacity(16 * 1024),
                answering: None,
                failed: None,
            }),
            queued: std::sync::Mutex::new(VecDeque::new()),
            broken: AtomicBool::new(false),
            watch,
        });
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&live));
        Ok(live)
    }
}

impl Connection {
    /// A new connection to the server (over TLS when configured, authenticated when
    /// credentials are set): its halves, and a handle on its socket for the watchdog, which
    /// shuts the socket down (under TLS too) when a reply is late.
    async fn dial(&self) -> Result<(ReadSide, WriteSide, socket2::Socket)> {
        let mut stream = TcpStream::connect(&self.address)
            .await
            .map_err(|e| self.unavailable("cannot connect").with_source(e))?;
        // Small pipelined requests must not wait for Nagle.
        stream.set_nodelay(true).ok();
        let watched = socket2::SockRef::from(&stream).try_clone().map_err(|e| {
            self.unavailable("cannot watch the connection")
                .with_source(e)
        })?;
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            let mut stream = tls.connect(stream, &self.address).await?;
            if let Some(credentials) = &self.credentials {
                authenticate(&mut stream, credentials, &self.address).await?;
            }
            let (reader, writer) = tokio::io::split(stream);
            return Ok((ReadSide::Tls(reader), WriteSide::Tls(writer), watched));
        }
        if let Some(credentials) = &self.credentials {
            authenticate(&mut stream, credentials, &self.address).await?;
        }
        let (reader, writer) = stream.into_split();
        Ok((ReadSide::Plain(reader), WriteSide::Plain(writer), watched))
    }
}

fn closed(address: &str) -> Error {
    Error::new(
        ErrorKind::Unavailable,
        format!("memcached {address} closed the connection"),
    )
}

/// Whether an error reply means memcached lost track of the command stream: `CLIENT_ERROR`
/// (a command line it refused, whose data, if any, it then reads as a command) and `ERROR` (a
/// line it read as an unknown command). Every reply after one may answer another request than
/// the one waiting, so the connection is closed. `SERVER_ERROR` (out of memory, a value too
/// large, which it reads and drops) leaves the stream in step.
fn loses_the_stream(line: &str) -> bool {
    line == "ERROR" || line.starts_with("ERROR ") || line.starts_with("CLIENT_ERROR")
}

/// Writes `bytes` whole, and flushes them (TLS may hold the tail in its record buffer).
async fn write_flushed(socket: &mut WriteSide, bytes: &[u8]) -> std::io::Result<()> {
    socket.write_all(bytes).await?;
    socket.flush().await
}
