//! One multiplexed connection per server: concurrent callers share one socket, their
//! pipelined commands written in order and their replies matched in order, as redis-rs does.
//!
//! A caller writes its request from its own task, under the connection's write lock, after
//! queueing its reply slot for the reader task in the same critical section (so slots and
//! requests keep one order). The reader task parses replies and completes the slots. Writing
//! from the caller saves a task hop per request; reading in a task of its own keeps a large
//! batch from deadlocking (a server stops reading while its replies are not read). A
//! connection that fails is dropped, and the next call dials a new one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::protocol::{self, Reply};
use crate::error::{Error, ErrorKind, Result};

type Respond = oneshot::Sender<Result<Vec<Reply>>>;

/// The write side of a live connection: the socket, and the reader's queue of reply slots.
struct Writer {
    socket: OwnedWriteHalf,
    slots: mpsc::UnboundedSender<(usize, Respond)>,
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
    /// trip, within the request timeout. A classic `gets` counts as one reply: its `VALUE`
    /// items come back followed by the `END` that is counted.
    pub(super) async fn call(&self, payload: &[u8], replies: usize) -> Result<Vec<Reply>> {
        if replies == 0 {
            return Ok(Vec::new());
        }
        let live = self.live().await?;
        match tokio::time::timeout(self.request_timeout, self.exchange(&live, payload, replies))
            .await
        {
            Ok(result) => result,
            Err(_) => {
                // The server may be stuck: dial afresh next time rather than queue behind it.
                live.broken.store(true, Ordering::Release);
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "memcached {} did not reply within {:?}",
                        self.address, self.request_timeout
                    ),
                ))
            }
        }
    }

    async fn exchange(&self, live: &Live, payload: &[u8], replies: usize) -> Result<Vec<Reply>> {
        let (respond, response) = oneshot::channel();
        {
            let mut writer = live.writer.lock().await;
            if live.broken.load(Ordering::Acquire) {
                return Err(self.unavailable("the connection broke"));
            }
            if writer.slots.send((replies, respond)).is_err() {
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
        tokio::spawn(read_replies(
            reader,
            slot_queue,
            Arc::clone(&broken),
            self.address.clone(),
        ));
        let live = Arc::new(Live {
            writer: Mutex::new(Writer { socket, slots }),
            broken,
        });
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&live));
        Ok(live)
    }
}

/// Reads replies and completes the slots in order.
async fn read_replies(
    mut reader: OwnedReadHalf,
    mut slots: mpsc::UnboundedReceiver<(usize, Respond)>,
    broken: Arc<AtomicBool>,
    address: String,
) {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let failure = 'outer: loop {
        let Some((expected, respond)) = slots.recv().await else {
            return; // the writer is gone: the connection was dropped
        };
        let mut replies = Vec::with_capacity(expected);
        let mut counted = 0;
        while counted < expected {
            match protocol::parse(&mut buf) {
                Ok(Some(reply)) => {
                    if !matches!(reply, Reply::Item { .. }) {
                        counted += 1;
                    }
                    replies.push(reply);
                }
                Ok(None) => match reader.read_buf(&mut buf).await {
                    Ok(0) => {
                        let _ = respond.send(Err(closed(&address)));
                        break 'outer closed(&address);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let err = Error::new(
                            ErrorKind::Unavailable,
                            format!("reading from memcached {address}"),
                        )
                        .with_source(e);
                        let _ = respond.send(Err(err.clone()));
                        break 'outer err;
                    }
                },
                Err(what) => {
                    let err = Error::new(
                        ErrorKind::Unavailable,
                        format!("memcached {address} sent {what}"),
                    )
                    .with_retryable(false);
                    let _ = respond.send(Err(err.clone()));
                    break 'outer err;
                }
            }
        }
        // A caller that gave up (timeout, cancellation) dropped its receiver: nothing to do.
        let _ = respond.send(Ok(replies));
    };
    broken.store(true, Ordering::Release);
    slots.close();
    while let Some((_, respond)) = slots.recv().await {
        let _ = respond.send(Err(failure.clone()));
    }
}

fn closed(address: &str) -> Error {
    Error::new(
        ErrorKind::Unavailable,
        format!("memcached {address} closed the connection"),
    )
}
