//! One multiplexed connection per server: concurrent callers share one socket, their
//! pipelined commands written in order and their replies matched in order, as redis-rs does.
//!
//! A writer task writes each request's bytes and hands the caller's reply slot to a reader
//! task, in the same order; the reader parses replies and completes the slots. Separate tasks
//! keep a large batch from deadlocking (a server stops reading while its replies are not
//! read). A connection that fails is dropped, and the next call dials a new one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::protocol::{self, Reply};
use crate::error::{Error, ErrorKind, Result};

type Respond = oneshot::Sender<Result<Vec<Reply>>>;

struct Request {
    payload: Vec<u8>,
    replies: usize,
    respond: Respond,
}

/// A live connection: the writer's queue, and whether either task has seen it fail.
struct Live {
    requests: mpsc::UnboundedSender<Request>,
    broken: Arc<AtomicBool>,
}

/// The connection to one server, dialed on first use and again after a failure.
pub(super) struct ServerConnection {
    address: String,
    connect_timeout: Duration,
    request_timeout: Duration,
    live: Mutex<Option<Live>>,
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
            live: Mutex::new(None),
        }
    }

    pub(super) fn address(&self) -> &str {
        &self.address
    }

    /// Sends `payload` (pipelined commands) and waits for `replies` replies, in one round
    /// trip, within the request timeout. A classic `gets` counts as one reply: its `VALUE`
    /// items come back followed by the `END` that is counted.
    pub(super) async fn call(&self, payload: Vec<u8>, replies: usize) -> Result<Vec<Reply>> {
        if replies == 0 {
            return Ok(Vec::new());
        }
        let requests = self.requests().await?;
        let (respond, response) = oneshot::channel();
        let request = Request {
            payload,
            replies,
            respond,
        };
        if requests.send(request).is_err() {
            self.forget().await;
            return Err(self.unavailable("the connection closed"));
        }
        match tokio::time::timeout(self.request_timeout, response).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(self.unavailable("the connection closed before replying")),
            Err(_) => {
                // The server may be stuck: dial afresh next time rather than queue behind it.
                self.forget().await;
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

    fn unavailable(&self, what: &str) -> Error {
        Error::new(
            ErrorKind::Unavailable,
            format!("memcached {}: {what}", self.address),
        )
    }

    async fn forget(&self) {
        *self.live.lock().await = None;
    }

    /// The live connection's queue, dialing one if there is none or it broke.
    async fn requests(&self) -> Result<mpsc::UnboundedSender<Request>> {
        let mut live = self.live.lock().await;
        if let Some(current) = live.as_ref()
            && !current.broken.load(Ordering::Acquire)
        {
            return Ok(current.requests.clone());
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
        let (reader, writer) = stream.into_split();
        let (requests, queue) = mpsc::unbounded_channel();
        let (slots, slot_queue) = mpsc::unbounded_channel();
        let broken = Arc::new(AtomicBool::new(false));
        tokio::spawn(write_requests(writer, queue, slots, Arc::clone(&broken)));
        tokio::spawn(read_replies(
            reader,
            slot_queue,
            Arc::clone(&broken),
            self.address.clone(),
        ));
        *live = Some(Live {
            requests: requests.clone(),
            broken,
        });
        Ok(requests)
    }
}

/// Writes requests in order, handing each reply slot to the reader first.
async fn write_requests(
    mut writer: OwnedWriteHalf,
    mut queue: mpsc::UnboundedReceiver<Request>,
    slots: mpsc::UnboundedSender<(usize, Respond)>,
    broken: Arc<AtomicBool>,
) {
    while let Some(request) = queue.recv().await {
        if broken.load(Ordering::Acquire) {
            let _ = request.respond.send(Err(Error::new(
                ErrorKind::Unavailable,
                "memcached connection broke",
            )));
            continue;
        }
        if slots.send((request.replies, request.respond)).is_err() {
            broken.store(true, Ordering::Release);
            continue;
        }
        if let Err(e) = writer.write_all(&request.payload).await {
            tracing::debug!(error = %e, "memcached write failed");
            broken.store(true, Ordering::Release);
            // The reader fails the slots when the socket closes.
            let _ = writer.shutdown().await;
        }
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
