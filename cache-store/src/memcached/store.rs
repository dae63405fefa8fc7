//! `Store` for `MemcachedStore`.

use std::hash::{BuildHasher, RandomState};
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::future::join_all;

use super::MemcachedStore;
use super::stats::server_stats;
use crate::error::{Error, ErrorKind, Result};
use crate::expiry::{Deadline, Expiration};
use crate::key::Key;
use crate::store::{Entry, FailedEntries, Stats, Store};
use memcached_meta::protocol::{self, Reply, SetMode};

/// memcached reads an exptime above 30 days as an absolute Unix time.
const MAX_RELATIVE_EXPTIME: u64 = 30 * 24 * 60 * 60;

/// Seconds added to every lifetime for memcached's coarse clock (see [`exptime`]).
const CLOCK_MARGIN: u64 = 1;

/// Room for the requests of a single-key call (a key, the namespace token's key, their
/// flags), so that building them never regrows the buffer.
const SMALL_PAYLOAD: usize = 256;

/// Work for each server: pipelined commands and how many replies they produce.
struct Work {
    payloads: Vec<(Vec<u8>, usize)>,
    /// The server whose first reply is the namespace token, when the token was asked for.
    token_server: Option<usize>,
}

/// What came back: each server's replies (without the token's), and the token if asked.
struct Answers {
    token: Option<Result<TokenRead>>,
    replies: Vec<Result<Vec<Reply>>>,
}

/// The exptime for a write: 0 for never, seconds, or an absolute time past 30 days; `None`
/// when already expired.
///
/// memcached's clock ticks once a second and may be up to a second behind when the write
/// lands, so an exptime of `n` can end the entry after `n - 1` seconds: one second is added
/// to the rounded-up lifetime, so that an entry is never a miss before its deadline (and may
/// be a hit for up to two seconds after it). Deadlines past [`Deadline::latest`] were resolved
/// to none, so an absolute time always fits memcached's 32-bit number.
pub(super) fn exptime(expiration: Expiration) -> Option<i64> {
    let now = SystemTime::now();
    let Deadline::At(at) = expiration.deadline(now, None) else {
        return Some(0);
    };
    let left = at.duration_since(now).ok().filter(|left| !left.is_zero())?;
    let seconds = whole_seconds_up(left) + CLOCK_MARGIN;
    let value = if seconds > MAX_RELATIVE_EXPTIME {
        whole_seconds_up(at.duration_since(UNIX_EPOCH).unwrap_or_default()) + CLOCK_MARGIN
    } else {
        seconds
    };
    Some(i64::try_from(value).unwrap_or(i64::from(i32::MAX)))
}

fn whole_seconds_up(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// What the namespace token's key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenRead {
    /// Nothing: the namespace was never written to, or its token was lost.
    Absent,
    /// A token.
    Token(u32),
    /// Something that is not a token (no client flags, a zero, not a number), written by
    /// another program or damaged. It is replaced, never trusted or left to block the
    /// namespace.
    Corrupt,
}

fn token_of(reply: &Reply) -> Result<TokenRead> {
    let token = |token: Option<u32>| match token.filter(|t| *t != 0) {
        Some(token) => TokenRead::Token(token),
        None => TokenRead::Corrupt,
    };
    match reply {
        // The token is the client flags (`mg <key> f`); a zero flag is no token.
        Reply::Done { flags } => Ok(token(flags.client)),
        Reply::Value { data, flags } => Ok(match token(flags.client) {
            TokenRead::Corrupt => token(
                std::str::from_utf8(data)
                    .ok()
                    .and_then(|t| t.trim().parse().ok()),
            ),
            read => read,
        }),
        Reply::Miss => Ok(TokenRead::Absent),
        other => Err(reply_error(other)),
    }
}

/// Whether a write (`ms` or `md`) was carried out; deleting a missing key was.
pub(super) fn written(reply: Option<&Reply>) -> Result<()> {
    match reply {
        Some(Reply::Done { .. } | Reply::NotFound) => Ok(()),
        Some(other) => Err(reply_error(other)),
        None => Err(reply_error(&Reply::Miss)),
    }
}

/// Room for the command that writes `value` under `key`: the key in base64 (4 bytes per 3),
/// the value and the command's words, so a large value is not copied again as the buffer
/// grows.
pub(super) fn write_room(key: &[u8], value: &[u8]) -> usize {
    key.len().div_ceil(3) * 4 + value.len() + 64
}

pub(super) fn reply_error(reply: &Reply) -> Error {
    match reply {
        Reply::Error(message) if message.contains("too large") => Error::new(
            ErrorKind::TooLarge,
            format!("memcached refused the value: {message}"),
        ),
        Reply::Error(message) => {
            Error::new(ErrorKind::Unavailable, format!("memcached: {message}"))
        }
        other => Error::new(
            ErrorKind::Decode,
            format!("an unexpected memcached reply: {other:?}"),
        ),
    }
}

/// A fresh token, different from `current`.
pub(super) fn new_token(current: u64) -> u32 {
    loop {
        let candidate = (RandomState::new().hash_one(SystemTime::now()) & 0xffff_ffff) as u32;
        if candidate != 0 && u64::from(candidate) != current {
            return candidate;
        }
    }
}

impl MemcachedStore {
    fn work(&self, with_token: bool) -> Work {
        let mut payloads = vec![(Vec::new(), 0); self.shared.servers.len()];
        let token_server = with_token.then(|| {
            let server = self.token_server;
            payloads[server].0.reserve(SMALL_PAYLOAD);
            payloads[server].0.extend_from_slice(&self.token_read);
            payloads[server].1 += 1;
            server
        });
        Work {
            payloads,
            token_server,
        }
    }

    /// Sends every server its work at once: one round trip per server.
    async fn round_trip(&self, work: &Work) -> Answers {
        let calls = self
            .shared
            .servers
            .iter()
            .zip(&work.payloads)
            .map(|(server, (payload, replies))| server.call(payload, *replies));
        let mut replies = join_all(calls).await;
        let token = work.token_server.map(|server| match &mut replies[server] {
            Ok(server_replies) if !server_replies.is_empty() => {
                self.remember_token(Some(&server_replies.remove(0)))
            }
            Ok(_) => self.remember_token(None),
            Err(err) => Err(err.clone()),
        });
        Answers { token, replies }
    }

    /// The token a read's first reply carries, remembered as the one last seen.
    fn remember_token(&self, reply: Option<&Reply>) -> Result<TokenRead> {
        let Some(reply) = reply else {
            return Err(Error::new(
                ErrorKind::Decode,
                "no reply for the namespace token",
            ));
        };
        let read = token_of(reply)?;
        if let TokenRead::Token(token) = read {
            self.remember(token);
        }
        Ok(read)
    }

    fn remember(&self, token: u32) {
        self.token.value.store(u64::from(token), Ordering::Release);
        if !self.shared.token_refresh.is_zero() {
            // Only token_refresh reads the time of the last read: no clock read per call
            // without it.
            self.token.mark_read();
        }
    }

    /// The token to judge values by: the one just read; or, if its server failed, the last
    /// one seen, so the other servers keep serving; or, if the token is gone (evicted, or its
    /// server restarted) while this handle knows it, that token, written back, so that what
    /// this handle wrote under it does not vanish; or, if the token's key holds something
    /// else, a new token in its place.
    async fn judge_token(&self, read: Option<Result<TokenRead>>) -> Result<Option<u32>> {
        match read {
            Some(Ok(TokenRead::Token(token))) => Ok(Some(token)),
            Some(Ok(TokenRead::Corrupt)) => self.replace_corrupt_token().await.map(Some),
            Some(Ok(TokenRead::Absent)) => {
                match u32::try_from(self.token.value.load(Ordering::Acquire)) {
                    Ok(known) if known != 0 => self.restore_token(known).await.map(Some),
                    _ => Ok(None),
                }
            }
            Some(Err(err)) => match self.token.value.load(Ordering::Acquire) {
                0 => Err(err),
                known => Ok(u32::try_from(known).ok()),
            },
            None => Ok(u32::try_from(self.token.value.load(Ordering::Acquire))
                .ok()
                .filter(|t| *t != 0)),
        }
    }

    /// Writes `token` under the token key (`Add`: only if the key is empty; `Set`: over
    /// whatever is there) and reads back what the key holds then, in one round trip.
    async fn write_token(&self, token: u32, mode: SetMode) -> Result<TokenRead> {
        let key = self.token_key();
        let mut payload = Vec::new();
        protocol::meta_set(
            &mut payload,
            key,
            token.to_string().as_bytes(),
            token,
            0,
            mode,
        );
        protocol::meta_get(&mut payload, key, false, false, None);
        let replies = self.shared.servers[self.token_server]
            .call(&payload, 2)
            .await?;
        match replies.first() {
            // An `Add` finding the key taken is an answer, not a failure.
            Some(Reply::Done { .. } | Reply::NotStored) => {}
            other => return Err(reply_error(other.unwrap_or(&Reply::Miss))),
        }
        replies.get(1).map_or(Ok(TokenRead::Absent), token_of)
    }

    /// Writes `known` back as the token if there is none (of racing writers, the first
    /// wins), and returns the token in force.
    async fn restore_token(&self, known: u32) -> Result<u32> {
        match self.write_token(known, SetMode::Add).await? {
            TokenRead::Token(token) => {
                self.remember(token);
                Ok(token)
            }
            TokenRead::Corrupt => self.replace_corrupt_token().await,
            TokenRead::Absent => Err(Error::new(
                ErrorKind::Unavailable,
                "the namespace token vanished while it was being restored",
            )),
        }
    }

    /// Overwrites a token key that holds no token with a new token. Entries written under
    /// whatever was there before can never come back: their flags are not the new token.
    async fn replace_corrupt_token(&self) -> Result<u32> {
        let token = new_token(self.token.value.load(Ordering::Acquire));
        tracing::warn!(
            namespace = %self.namespace,
            token,
            "the memcached namespace token's key holds no token (damaged, or written by another program); replacing it, which empties the namespace"
        );
        match self.write_token(token, SetMode::Set).await? {
            // Another replacer may have written its token meanwhile: the last one stands.
            TokenRead::Token(token) => {
                self.remember(token);
                Ok(token)
            }
            TokenRead::Corrupt | TokenRead::Absent => Err(Error::new(
                ErrorKind::Unavailable,
                "the namespace token was damaged again while it was being replaced",
            )),
        }
    }

    /// The token to write under: the last one seen, or read (and created if absent).
    async fn token_for_write(&self) -> Result<u32> {
        if let Ok(known) = u32::try_from(self.token.value.load(Ordering::Acquire))
            && known != 0
        {
            return Ok(known);
        }
        let key = self.token_key();
        let server = &self.shared.servers[self.token_server];
        for _ in 0..3 {
            let answers = self.round_trip(&self.work(true)).await;
            if let Some(token) = self.judge_token(answers.token).await? {
                return Ok(token);
            }
            // No token yet: create one; of racing creators, the first `add` wins.
            let token = new_token(0);
            let mut payload = Vec::new();
            let digits = token.to_string();
            protocol::meta_set(&mut payload, key, digits.as_bytes(), token, 0, SetMode::Add);
            match server.call(&payload, 1).await?.first() {
                Some(Reply::Done { .. }) => {
                    self.token.value.store(u64::from(token), Ordering::Release);
                    return Ok(token);
                }
                Some(Reply::NotStored) => continue,
                Some(other) => return Err(reply_error(other)),
                None => return Err(reply_error(&Reply::Miss)),
            }
        }
        Err(Error::new(
            ErrorKind::Unavailable,
            "the namespace token kept changing while it was being created",
        ))
    }

    fn is_live(flags: protocol::Flags, token: Option<u32>) -> bool {
        token.is_some() && flags.client == token
    }

    /// The CAS value of `key` (and the namespace token it was written under) when it holds a
    /// live entry of exactly `expected`.
    async fn cas_if_equal(&self, key: &[u8], expected: &[u8]) -> Result<Option<Compared>> {
        match self.meta_get_one(key, true, true, None).await? {
            (Some(Reply::Value { data, flags }), token) => Ok(match (flags.cas, token) {
                (Some(cas), Some(token))
                    if Self::is_live(flags, Some(token)) && data[..] == *expected =>
                {
                    Some(Compared { cas, token })
                }
                _ => None,
            }),
            (Some(Reply::Done { .. } | Reply::Miss) | None, _) => Ok(None),
            (Some(other), _) => Err(reply_error(&other)),
        }
    }

    /// Sends a compare-and-swap request about `key`: whether it applied.
    async fn cas_outcome(&self, key: &[u8], payload: &[u8]) -> Result<bool> {
        match self.shared.servers[self.server_of(key)]
            .call(payload, 1)
            .await?
            .first()
        {
            Some(Reply::Done { .. }) => Ok(true),
            Some(Reply::Exists | Reply::NotFound | Reply::NotStored) => Ok(false),
            Some(other) => Err(reply_error(other)),
            None => Err(reply_error(&Reply::Miss)),
        }
    }

    /// Whether `key` holds a live entry, with its CAS value.
    async fn probe(&self, key: &[u8]) -> Result<(bool, Option<u64>)> {
        match self.meta_get_one(key, false, true, None).await? {
            (Some(Reply::Done { flags } | Reply::Value { flags, .. }), token) => {
                Ok((Self::is_live(flags, token), flags.cas))
            }
            (Some(Reply::Miss) | None, _) => Ok((false, None)),
            (Some(other), _) => Err(reply_error(&other)),
        }
    }

    /// One `mg` of `key`, pipelined behind the namespace token's read: the reply and the
    /// token to judge it by.
    async fn meta_get_one(
        &self,
        key: &[u8],
        value: bool,
        cas: bool,
        ttl: Option<i64>,
    ) -> Result<(Option<Reply>, Option<u32>)> {
        let with_token = self.token.is_stale(self.shared.token_refresh);
        let server = self.server_of(key);
        if !with_token || server == self.token_server {
            // One server to ask (always so with one server): one request, no per-server
            // bookkeeping.
            let mut payload = Vec::with_capacity(SMALL_PAYLOAD);
            if with_token {
                payload.extend_from_slice(&self.token_read);
            }
            protocol::meta_get(&mut payload, key, value, cas, ttl);
            let asked = 1 + usize::from(with_token);
            let mut replies = self.shared.servers[server]
                .call(&payload, asked)
                .await?
                .into_iter();
            let token = if with_token {
                Some(self.remember_token(replies.next().as_ref()))
            } else {
                None
            };
            let token = self.judge_token(token).await?;
            return Ok((replies.next(), token));
        }
        let mut work = self.work(true);
        work.payloads[server].0.reserve(SMALL_PAYLOAD);
        protocol::meta_get(&mut work.payloads[server].0, key, value, cas, ttl);
        work.payloads[server].1 += 1;
        let answers = self.round_trip(&work).await;
        let token = self.judge_token(answers.token).await?;
        let mut replies = answers
            .replies
            .into_iter()
            .nth(server)
            .expect("a round trip answers once per server")?;
        Ok((replies.pop(), token))
    }
}

#[async_trait]
impl Store for MemcachedStore {
    async fn get_many(&self, keys: &[Key<'_>]) -> Result<Vec<Result<Option<Bytes>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // One multi-get per server, asked in the order of `keys`; each server's reply names
        // its hits in that same order, so replies are matched by walking the asked keys, with
        // no hashing and no copy of the key texts (they are read back from the payload).
        let mut work = self.work(self.token.is_stale(self.shared.token_refresh));
        let mut asked: Vec<Vec<(usize, Range<usize>)>> = vec![Vec::new(); work.payloads.len()];
        for (slot, &key) in keys.iter().enumerate() {
            let key = self.data_key(key);
            let server = self.server_of(&key);
            let payload = &mut work.payloads[server].0;
            if asked[server].is_empty() {
                protocol::multi_get_start(payload);
            }
            asked[server].push((slot, protocol::multi_get_key(payload, &key)));
        }
        for (server, slots) in asked.iter().enumerate() {
            if !slots.is_empty() {
                let payload = &mut work.payloads[server];
                protocol::multi_get_end(&mut payload.0);
                payload.1 += 1;
            }
        }
        let answers = self.round_trip(&work).await;
        let token = self.judge_token(answers.token).await?;
        let mut values: Vec<Result<Option<Bytes>>> = keys.iter().map(|_| Ok(None)).collect();
        for ((slots, replies), (payload, _)) in
            asked.iter().zip(answers.replies).zip(&work.payloads)
        {
            if slots.is_empty() {
                continue;
            }
            let replies = match replies {
                Ok(replies) => replies,
                Err(err) => {
                    // This server's keys fail; the other servers' keys are still served.
                    for (slot, _) in slots {
                        values[*slot] = Err(err.clone());
                    }
                    continue;
                }
            };
            let mut pending = slots.iter();
            for reply in replies {
                match reply {
                    Reply::Item { key, flags, data } => {
                        // Keys asked before this one and not named were misses.
                        let hit = pending
                            .by_ref()
                            .find(|(_, text)| payload[text.clone()] == key[..]);
                        match hit {
                            Some((slot, _)) => {
                                let live = token.is_some() && Some(flags) == token;
                                values[*slot] = Ok(live.then_some(data));
                            }
                            None => {
                                let err = Error::new(
                                    ErrorKind::Decode,
                                    "memcached answered a multi-get with a key that was not asked, or out of order",
                                );
                                for (slot, _) in slots {
                                    values[*slot] = Err(err.clone());
                                }
                                break;
                            }
                        }
                    }
                    Reply::End => {}
                    other => {
                        let err = reply_error(&other);
                        for (slot, _) in slots {
                            values[*slot] = Err(err.clone());
                        }
                    }
                }
            }
        }
        Ok(values)
    }

    async fn set_many(&self, entries: &[Entry<'_>]) -> Result<FailedEntries> {
        if entries.is_empty() {
            return Ok(FailedEntries::new());
        }
        let token = self.token_for_write().await?;
        let mut work = self.work(false);
        let mut owners = Vec::with_capacity(entries.len());
        let mut failed = FailedEntries::new();
        for (index, entry) in entries.iter().enumerate() {
            if let Err(err) = self.check_item(entry.key, &entry.value) {
                failed.push(index, err);
                continue;
            }
            let key = self.data_key(entry.key);
            let server = self.server_of(&key);
            let payload = &mut work.payloads[server];
            payload.0.reserve(write_room(&key, &entry.value));
            match exptime(entry.expiration) {
                None => protocol::meta_delete(&mut payload.0, &key),
                Some(ttl) => {
                    protocol::meta_set(&mut payload.0, &key, &entry.value, token, ttl, SetMode::Set)
                }
            }
            payload.1 += 1;
            owners.push((index, server));
        }
        if owners.is_empty() {
            return Ok(failed);
        }
        let answers = self.round_trip(&work).await;
        if let Some(Err(err)) = answers.replies.iter().find(|r| r.is_err())
            && answers
                .replies
                .iter()
                .all(|r| r.as_ref().map_or(true, Vec::is_empty))
        {
            // Every server involved failed: the batch as a whole failed.
            return Err(err.clone());
        }
        let mut per_server: Vec<Result<std::vec::IntoIter<Reply>>> = answers
            .replies
            .into_iter()
            .map(|r| r.map(Vec::into_iter))
            .collect();
        for (index, server) in owners {
            match &mut per_server[server] {
                Err(err) => failed.push(index, err.clone()),
                Ok(replies) => {
                    if let Err(err) = written(replies.next().as_ref()) {
                        failed.push(index, err);
                    }
                }
            }
        }
        Ok(failed)
    }

    async fn delete_many(&self, keys: &[Key<'_>]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut work = self.work(false);
        for &key in keys {
            let key = self.data_key(key);
            let server = self.server_of(&key);
            protocol::meta_delete(&mut work.payloads[server].0, &key);
            work.payloads[server].1 += 1;
        }
        let answers = self.round_trip(&work).await;
        for replies in answers.replies {
            for reply in replies? {
                if !matches!(reply, Reply::Done { .. } | Reply::NotFound) {
                    return Err(reply_error(&reply));
                }
            }
        }
        Ok(())
    }

    async fn contains(&self, key: Key<'_>) -> Result<bool> {
        Ok(self.probe(&self.data_key(key)).await?.0)
    }

    async fn add(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<bool> {
        self.check_item(key, &value)?;
        let Some(ttl) = exptime(expiration) else {
            return Ok(!self.contains(key).await?);
        };
        let token = self.token_for_write().await?;
        let key = self.data_key(key);
        let server = &self.shared.servers[self.server_of(&key)];
        for _ in 0..5 {
            let mut payload = Vec::new();
            protocol::meta_set(&mut payload, &key, &value, token, ttl, SetMode::Add);
            match server.call(&payload, 1).await?.first() {
                Some(Reply::Done { .. }) => return Ok(true),
                Some(Reply::NotStored) => {}
                Some(other) => return Err(reply_error(other)),
                None => return Err(reply_error(&Reply::Miss)),
            }
            // Something is there: a live entry wins; a cleared one (old token) is replaced,
            // atomically, by compare-and-set.
            let (live, cas) = self.probe(&key).await?;
            if live {
                return Ok(false);
            }
            let Some(cas) = cas else {
                continue; // gone meanwhile: add again
            };
            let mut payload = Vec::new();
            protocol::meta_set(&mut payload, &key, &value, token, ttl, SetMode::Cas(cas));
            match server.call(&payload, 1).await?.first() {
                Some(Reply::Done { .. }) => return Ok(true),
                Some(Reply::Exists | Reply::NotFound | Reply::NotStored) => {}
                Some(other) => return Err(reply_error(other)),
                None => return Err(reply_error(&Reply::Miss)),
            }
        }
        Err(Error::new(
            ErrorKind::Unavailable,
            "add: the key kept changing under concurrent writers",
        ))
    }

    async fn touch(&self, key: Key<'_>, expiration: Expiration) -> Result<bool> {
        let key = self.data_key(key);
        let Some(ttl) = exptime(expiration) else {
            let (live, _) = self.probe(&key).await?;
            if live {
                let mut payload = Vec::new();
                protocol::meta_delete(&mut payload, &key);
                self.shared.servers[self.server_of(&key)]
                    .call(&payload, 1)
                    .await?;
            }
            return Ok(live);
        };
        match self.meta_get_one(&key, false, false, Some(ttl)).await? {
            // A cleared entry (old token) got the new TTL too, and stays invisible.
            (Some(Reply::Done { flags } | Reply::Value { flags, .. }), token) => {
                Ok(Self::is_live(flags, token))
            }
            (Some(Reply::Miss) | None, _) => Ok(false),
            (Some(other), _) => Err(reply_error(&other)),
        }
    }

    async fn touch_if_equal(
        &self,
        key: Key<'_>,
        expected: &[u8],
        expiration: Expiration,
    ) -> Result<bool> {
        let key = self.data_key(key);
        let Some(cas) = self.cas_if_equal(&key, expected).await? else {
            return Ok(false);
        };
        let mut payload = Vec::new();
        match exptime(expiration) {
            None => protocol::meta_delete_if(&mut payload, &key, cas.cas),
            // The same bytes again, with the new lifetime, if nothing wrote them since.
            Some(ttl) => protocol::meta_set(
                &mut payload,
                &key,
                expected,
                cas.token,
                ttl,
                SetMode::Cas(cas.cas),
            ),
        }
        self.cas_outcome(&key, &payload).await
    }

    async fn clear(&self) -> Result<()> {
        let key = self.token_key();
        let token = new_token(self.token.value.load(Ordering::Acquire));
        let mut payload = Vec::new();
        protocol::meta_set(
            &mut payload,
            key,
            token.to_string().as_bytes(),
            token,
            0,
            SetMode::Set,
        );
        match self.shared.servers[self.token_server]
            .call(&payload, 1)
            .await?
            .first()
        {
            Some(Reply::Done { .. }) => {
                self.token.value.store(u64::from(token), Ordering::Release);
                Ok(())
            }
            Some(other) => Err(reply_error(other)),
            None => Err(reply_error(&Reply::Miss)),
        }
    }

    async fn stats(&self) -> Result<Stats> {
        server_stats(self.shared.servers.iter()).await
    }

    fn backend(&self) -> &'static str {
        "memcached"
    }

    fn namespace(&self) -> &str {
        &self.namespace
    }

    /// One entry: one command to its server, without a batch's bookkeeping.
    async fn set(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<()> {
        self.check_item(key, &value)?;
        let key = self.data_key(key);
        let mut payload;
        match exptime(expiration) {
            None => {
                payload = Vec::with_capacity(SMALL_PAYLOAD);
                protocol::meta_delete(&mut payload, &key);
            }
            Some(ttl) => {
                let token = self.token_for_write().await?;
                payload = Vec::with_capacity(write_room(&key, &value));
                protocol::meta_set(&mut payload, &key, &value, token, ttl, SetMode::Set);
            }
        }
        let server = &self.shared.servers[self.server_of(&key)];
        written(server.call(&payload, 1).await?.first())
    }

    /// One key: one `mg` (with the token read pipelined ahead of it on its server) rather
    /// than a one-key classic `get`, which echoes the key for nothing.
    async fn get(&self, key: Key<'_>) -> Result<Option<Bytes>> {
        match self
            .meta_get_one(&self.data_key(key), true, false, None)
            .await?
        {
            (Some(Reply::Value { data, flags }), token) if Self::is_live(flags, token) => {
                Ok(Some(data))
            }
            (Some(Reply::Value { .. } | Reply::Miss) | None, _) => Ok(None),
            (Some(other), _) => Err(reply_error(&other)),
        }
    }
}

/// A live entry's CAS value, and the namespace token it carries.
#[derive(Clone, Copy, Debug)]
struct Compared {
    cas: u64,
    token: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_over_thirty_days_become_absolute_times() {
        assert_eq!(exptime(Expiration::Never), Some(0));
        assert_eq!(exptime(Expiration::After(Duration::ZERO)), None);
        // Rounded up, plus the second memcached's clock may lag.
        assert_eq!(
            exptime(Expiration::After(Duration::from_millis(10))),
            Some(2)
        );
        assert_eq!(
            exptime(Expiration::After(Duration::from_secs(60))),
            Some(61)
        );
        let forty_days = exptime(Expiration::After(Duration::from_secs(40 * 86_400))).unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!(
            (forty_days - (now + 40 * 86_400)).abs() <= 2,
            "{forty_days}"
        );
    }

    #[test]
    fn far_lifetimes_never_wrap_past_memcached_32_bit_clock() {
        let years = |n: u64| Duration::from_secs(n * 365 * 86_400);
        for far in [
            Expiration::After(years(13)),
            Expiration::After(years(100)),
            Expiration::After(Duration::from_secs(1_000_000_000_000)),
            Expiration::After(Duration::MAX),
            Expiration::At(SystemTime::now() + years(40)),
        ] {
            assert_eq!(exptime(far), Some(0), "{far:?} is kept without a deadline");
        }
        let latest = exptime(Expiration::At(Deadline::latest())).unwrap();
        assert!(latest > 0 && latest <= i64::from(i32::MAX), "{latest}");
    }

    #[test]
    fn new_tokens_differ_from_the_current_one() {
        for _ in 0..100 {
            let current = u64::from(new_token(0));
            assert_ne!(u64::from(new_token(current)), current);
        }
    }
}
