//! `Store` for `RedisStore`.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::future::try_join_all;
use redis::cluster_routing::Slot;
use redis::{Pipeline, ToRedisArgs, Value};

use super::RedisStore;
use super::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::expiry::{Deadline, Expiration, Remaining};
use crate::key::Key;
use crate::store::{Entry, FailedEntries, Found, Stats, Store};

/// Each key's value (`false` for none, or another type) and its remaining lifetime in ms
/// (`PTTL`: -1 for none), read together so that they belong to one version of the entry.
const GET_WITH_PTTL: &str = "local out = {} \
     for i, k in ipairs(KEYS) do \
       local v = redis.pcall('GET', k) \
       if type(v) == 'table' then v = false end \
       out[2 * i - 1] = v \
       out[2 * i] = redis.call('PTTL', k) \
     end return out";

/// Gives `KEYS[1]` the lifetime `ARGV[2]` (ms; 0: none; -1: already expired) if it holds
/// `ARGV[1]`.
const TOUCH_IF_EQUAL: &str = "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end \
     local ms = tonumber(ARGV[2]) \
     if ms < 0 then redis.call('UNLINK', KEYS[1]) \
     elseif ms == 0 then redis.call('PERSIST', KEYS[1]) \
     else redis.call('PEXPIRE', KEYS[1], ms) end \
     return 1";

/// Keys per `UNLINK` while clearing, and the `COUNT` hint of `SCAN`.
const CLEAR_BATCH: usize = 1000;

impl RedisStore {
    fn remaining(&self, expiration: Expiration) -> Remaining {
        remaining_at(expiration, std::time::SystemTime::now())
    }

    /// Appends the write of one entry to `pipe`: `SET` with its lifetime, or `UNLINK` when the
    /// entry is already expired. Its reply is kept, so that a refusal names its entry.
    fn push_write(
        &self,
        pipe: &mut Pipeline,
        key: impl ToRedisArgs,
        value: &[u8],
        remaining: Remaining,
    ) {
        match remaining {
            Remaining::Expired => {
                pipe.cmd("UNLINK").arg(key);
            }
            Remaining::Forever => {
                pipe.cmd("SET").arg(key).arg(value);
            }
            Remaining::For(_) => {
                let millis = remaining.whole_millis().unwrap_or(1);
                pipe.cmd("SET").arg(key).arg(value).arg("PX").arg(millis);
            }
        }
    }

    async fn unlink<A: ToRedisArgs>(&self, keys: impl IntoIterator<Item = A>) -> Result<()> {
        let mut cmd = redis::cmd("UNLINK");
        let mut any = false;
        for key in keys {
            cmd.arg(key);
            any = true;
        }
        if !any {
            return Ok(());
        }
        let _: i64 = self
            .connection
            .query(&cmd, self.timeouts.call(), "UNLINK")
            .await?;
        Ok(())
    }

    /// The values of `keys` (full Redis keys, of one slot on a cluster) with their deadlines,
    /// in one script.
    async fn read_with_deadlines(
        &self,
        keys: &[Vec<u8>],
        started: std::time::SystemTime,
    ) -> Result<Vec<Result<Option<Found>>>> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(GET_WITH_PTTL).arg(keys.len());
        for key in keys {
            cmd.arg(key);
        }
        let reply: Vec<Value> = self
            .connection
            .query(&cmd, self.timeouts.call(), "EVAL get_with_deadlines")
            .await?;
        if reply.len() != keys.len() * 2 {
            return Err(Error::new(
                ErrorKind::Decode,
                format!(
                    "a read of {} keys with their lifetimes answered {} values",
                    keys.len(),
                    reply.len()
                ),
            ));
        }
        Ok(reply
            .chunks_exact(2)
            .map(|pair| match pair {
                [Value::BulkString(bytes), Value::Int(ms)] => {
                    let deadline = match u64::try_from(*ms) {
                        Ok(ms) => started
                            .checked_add(Duration::from_millis(ms))
                            .map_or(Deadline::Never, Deadline::At),
                        // -1: no expiry.
                        Err(_) => Deadline::Never,
                    };
                    Ok(Some(Found {
                        value: Bytes::copy_from_slice(bytes),
                        deadline: Some(deadline),
                    }))
                }
                [Value::Nil, _] => Ok(None),
                other => Err(Error::new(
                    ErrorKind::Decode,
                    format!("a read with its lifetime answered {other:?}"),
                )),
            })
            .collect())
    }

    /// SCANs one node for this namespace's keys and unlinks them in batches.
    async fn clear_node(&self, node: Option<&super::connection::Node>) -> Result<()> {
        let mut pattern = self.prefix.to_vec();
        pattern.push(b'*');
        let mut cursor: u64 = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(CLEAR_BATCH);
            let reply = self
                .connection
                .query_on(node, &scan, self.timeouts.call(), "SCAN")
                .await?;
            let (next, keys): (u64, Vec<Vec<u8>>) = redis::from_redis_value(reply)
                .map_err(|e| super::error::from_redis(e.into(), "SCAN reply"))?;
            self.unlink(keys).await?;
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }
}

/// The miss a key of another type reads as, logged: another program's data under one of our
/// keys is no entry of ours. A write replaces it.
#[cold]
fn foreign(key: Key<'_>, err: &Error) -> Option<Bytes> {
    tracing::warn!(key = key.as_str(), error = %err, "redis key holds another type than a string; reading it as a miss");
    None
}

/// What is left of `expiration` for a write at `now`.
fn remaining_at(expiration: Expiration, now: std::time::SystemTime) -> Remaining {
    expiration.deadline(now, None).remaining(now)
}

/// `INFO` fields summed over the primaries.
fn add_info(stats: &mut Stats, info: &str) {
    let field = |name: &str| -> Option<u64> {
        info.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse().ok())
    };
    let sum = |slot: &mut Option<u64>, value: Option<u64>| {
        if let Some(value) = value {
            *slot = Some(slot.unwrap_or(0) + value);
        }
    };
    sum(&mut stats.hits, field("keyspace_hits"));
    sum(&mut stats.misses, field("keyspace_misses"));
    sum(&mut stats.memory_usage, field("used_memory"));
    if let (Some(max), Some(used)) = (field("maxmemory"), field("used_memory"))
        && max > 0
    {
        sum(&mut stats.memory_available, Some(max.saturating_sub(used)));
    }
    let keys: u64 = info
        .lines()
        .filter(|l| l.starts_with("db"))
        .filter_map(|l| {
            l.split_once("keys=")?
                .1
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    sum(&mut stats.entries, Some(keys));
    if let Some(uptime) = field("uptime_in_seconds") {
        let uptime = Duration::from_secs(uptime);
        stats.uptime = Some(stats.uptime.map_or(uptime, |u| u.min(uptime)));
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn get_many(&self, keys: &[Key<'_>]) -> Result<Vec<Result<Option<Bytes>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("MGET");
        // One reservation for the whole command instead of regrowing its buffer per key.
        redis::RedisWrite::reserve_space_for_args(
            &mut cmd,
            keys.iter().map(|key| self.prefix.len() + key.len()),
        );
        for &key in keys {
            cmd.arg(self.arg(key));
        }
        let values: Vec<Value> = self
            .connection
            .query(&cmd, self.timeouts.call(), "MGET")
            .await?;
        if values.len() != keys.len() {
            return Err(Error::new(
                ErrorKind::Decode,
                format!(
                    "MGET of {} keys answered {} values",
                    keys.len(),
                    values.len()
                ),
            ));
        }
        Ok(values
            .into_iter()
            .map(|value| match value {
                Value::Nil => Ok(None),
                Value::BulkString(bytes) => Ok(Some(Bytes::from(bytes))),
                // MGET answers nil for a key of another type too; nothing else is expected.
                other => Err(Error::new(
                    ErrorKind::Decode,
                    format!("MGET answered {other:?} for a key"),
                )),
            })
            .collect())
    }

    async fn get_many_with_deadlines(
        &self,
        keys: &[Key<'_>],
    ) -> Result<Vec<Result<Option<Found>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // Deadlines count from before the request: never later than the server's.
        let started = std::time::SystemTime::now();
        match &self.connection {
            Connection::Standalone(_) | Connection::Sentinel(_) => {
                let keys: Vec<Vec<u8>> = keys.iter().map(|&k| self.redis_key(k)).collect();
                self.read_with_deadlines(&keys, started).await
            }
            Connection::Cluster(_) => {
                // A script's keys must share a slot: one script per slot, all at once.
                let mut by_slot: HashMap<Slot, (Vec<Vec<u8>>, Vec<usize>)> = HashMap::new();
                for (index, &key) in keys.iter().enumerate() {
                    let key = self.redis_key(key);
                    let (slot_keys, indices) = by_slot.entry(Slot::for_key(&key)).or_default();
                    slot_keys.push(key);
                    indices.push(index);
                }
                let read = try_join_all(by_slot.values().map(|(slot_keys, indices)| async move {
                    let found = self.read_with_deadlines(slot_keys, started).await?;
                    Ok::<_, Error>(indices.iter().copied().zip(found).collect::<Vec<_>>())
                }))
                .await?;
                let mut out: Vec<Result<Option<Found>>> =
                    (0..keys.len()).map(|_| Ok(None)).collect();
                for (index, found) in read.into_iter().flatten() {
                    out[index] = found;
                }
                Ok(out)
            }
        }
    }

    async fn set_many(&self, entries: &[Entry<'_>]) -> Result<FailedEntries> {
        if entries.is_empty() {
            return Ok(FailedEntries::new());
        }
        let limit = self.timeouts.call();
        // One `now` for the whole batch: its entries expire together, and the clock is read
        // once rather than per entry.
        let now = std::time::SystemTime::now();
        let mut failed = FailedEntries::new();
        match &self.connection {
            Connection::Standalone(_) | Connection::Sentinel(_) => {
                let mut pipe = redis::pipe();
                pipe.ignore_errors();
                for entry in entries {
                    let remaining = remaining_at(entry.expiration, now);
                    self.push_write(&mut pipe, self.arg(entry.key), &entry.value, remaining);
                }
                let refused = self
                    .connection
                    .write_pipeline(&pipe, limit, "SET pipeline")
                    .await?;
                for (index, err) in refused {
                    failed.push(index, err);
                }
            }
            Connection::Cluster(_) => {
                // A cluster pipeline must stay in one slot: one pipeline per slot, all at once.
                // Entries keep their order within a slot, so a later duplicate still wins.
                let mut by_slot: HashMap<Slot, (Pipeline, Vec<usize>)> = HashMap::new();
                for (index, entry) in entries.iter().enumerate() {
                    let key = self.redis_key(entry.key);
                    let remaining = remaining_at(entry.expiration, now);
                    let (pipe, indices) = by_slot.entry(Slot::for_key(&key)).or_insert_with(|| {
                        let mut pipe = redis::pipe();
                        pipe.ignore_errors();
                        (pipe, Vec::new())
                    });
                    self.push_write(pipe, key, &entry.value, remaining);
                    indices.push(index);
                }
                let refused = try_join_all(by_slot.values().map(|(pipe, indices)| async move {
                    let refused = self
                        .connection
                        .write_pipeline(pipe, limit, "SET pipeline")
                        .await?;
                    Ok::<_, Error>(
                        refused
                            .into_iter()
                            // One reply per command: every position is one of ours.
                            .filter_map(|(at, err)| Some((*indices.get(at)?, err)))
                            .collect::<Vec<_>>(),
                    )
                }))
                .await?;
                let mut refused: Vec<(usize, Error)> = refused.into_iter().flatten().collect();
                refused.sort_by_key(|(index, _)| *index);
                for (index, err) in refused {
                    failed.push(index, err);
                }
            }
        }
        Ok(failed)
    }

    async fn delete_many(&self, keys: &[Key<'_>]) -> Result<()> {
        self.unlink(keys.iter().map(|&k| self.arg(k))).await
    }

    /// `TYPE` rather than `EXISTS`: a key of another type (a list another program wrote)
    /// is no entry of ours, as `get` and `get_many` answer too.
    async fn contains(&self, key: Key<'_>) -> Result<bool> {
        let kind: String = self
            .connection
            .query(
                redis::cmd("TYPE").arg(self.arg(key)),
                self.timeouts.call(),
                "TYPE",
            )
            .await?;
        Ok(kind == "string")
    }

    async fn add(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<bool> {
        let remaining = self.remaining(expiration);
        if remaining == Remaining::Expired {
            // Nothing would be stored; the answer is whether the key is absent.
            return Ok(!self.contains(key).await?);
        }
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.arg(key)).arg(&value[..]).arg("NX");
        if let Some(millis) = remaining.whole_millis() {
            cmd.arg("PX").arg(millis);
        }
        let reply: Value = self
            .connection
            .query(&cmd, self.timeouts.call(), "SET NX")
            .await?;
        Ok(!matches!(reply, Value::Nil))
    }

    async fn touch(&self, key: Key<'_>, expiration: Expiration) -> Result<bool> {
        let key = self.redis_key(key);
        let limit = self.timeouts.call();
        let remaining = self.remaining(expiration);
        match remaining {
            Remaining::Expired => {
                let removed: i64 = self
                    .connection
                    .query(redis::cmd("UNLINK").arg(key), limit, "UNLINK")
                    .await?;
                Ok(removed > 0)
            }
            Remaining::Forever => {
                // PERSIST answers 0 both for a missing key and for one without a deadline.
                let mut pipe = redis::pipe();
                pipe.cmd("EXISTS")
                    .arg(&key)
                    .cmd("PERSIST")
                    .arg(&key)
                    .ignore();
                let (exists,): (i64,) = self
                    .connection
                    .query_pipeline(&pipe, limit, "EXISTS + PERSIST")
                    .await?;
                Ok(exists > 0)
            }
            Remaining::For(_) => {
                let millis = remaining.whole_millis().unwrap_or(1);
                let set: i64 = self
                    .connection
                    .query(redis::cmd("PEXPIRE").arg(key).arg(millis), limit, "PEXPIRE")
                    .await?;
                Ok(set > 0)
            }
        }
    }

    async fn touch_if_equal(
        &self,
        key: Key<'_>,
        expected: &[u8],
        expiration: Expiration,
    ) -> Result<bool> {
        // The script's lifetime argument: milliseconds, 0 for none, -1 for already expired.
        let millis: i64 = match self.remaining(expiration) {
            Remaining::Expired => -1,
            Remaining::Forever => 0,
            remaining => remaining
                .whole_millis()
                .map_or(1, |ms| i64::try_from(ms).unwrap_or(i64::MAX)),
        };
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(TOUCH_IF_EQUAL)
            .arg(1)
            .arg(self.redis_key(key))
            .arg(expected)
            .arg(millis);
        let touched: i64 = self
            .connection
            .query(&cmd, self.timeouts.call(), "EVAL touch_if_equal")
            .await?;
        Ok(touched > 0)
    }

    async fn clear(&self) -> Result<()> {
        if self.prefix.is_empty() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "clear in the empty namespace with PHP's plain keys would empty the whole database",
            ));
        }
        let primaries = self.connection.primaries(self.timeouts.call()).await?;
        try_join_all(primaries.iter().map(|node| self.clear_node(node.as_ref()))).await?;
        Ok(())
    }

    async fn stats(&self) -> Result<Stats> {
        let limit = self.timeouts.call();
        let mut stats = Stats::default();
        for node in self.connection.primaries(limit).await? {
            let reply = self
                .connection
                .query_on(node.as_ref(), &redis::cmd("INFO"), limit, "INFO")
                .await?;
            let info: String = redis::from_redis_value(reply)
                .map_err(|e| super::error::from_redis(e.into(), "INFO reply"))?;
            add_info(&mut stats, &info);
        }
        if stats.uptime.is_none() {
            stats.uptime = Some(self.started.elapsed());
        }
        Ok(stats)
    }

    fn backend(&self) -> &'static str {
        "redis"
    }

    fn namespace(&self) -> &str {
        &self.namespace
    }

    async fn get(&self, key: Key<'_>) -> Result<Option<Bytes>> {
        let value: Result<Option<Vec<u8>>> = self
            .connection
            .query(
                redis::cmd("GET").arg(self.arg(key)),
                self.timeouts.call(),
                "GET",
            )
            .await;
        match value {
            Ok(value) => Ok(value.map(Bytes::from)),
            // A key of another type: no entry of ours, as MGET answers for it in `get_many`.
            Err(err) if err.kind() == ErrorKind::Decode => Ok(foreign(key, &err)),
            Err(err) => Err(err),
        }
    }

    async fn set(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<()> {
        let key = self.redis_key(key);
        let limit = self.timeouts.call();
        match self.remaining(expiration) {
            Remaining::Expired => self.unlink([key]).await,
            remaining => {
                let mut cmd = redis::cmd("SET");
                cmd.arg(key).arg(&value[..]);
                if let Some(millis) = remaining.whole_millis() {
                    cmd.arg("PX").arg(millis);
                }
                let () = self.connection.query(&cmd, limit, "SET").await?;
                Ok(())
            }
        }
    }

    async fn delete(&self, key: Key<'_>) -> Result<()> {
        self.unlink([self.arg(key)]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_is_parsed_and_summed() {
        let info = "# Server\r\nuptime_in_seconds:42\r\n# Stats\r\nkeyspace_hits:10\r\nkeyspace_misses:3\r\n# Memory\r\nused_memory:1000\r\nmaxmemory:0\r\n# Keyspace\r\ndb0:keys=5,expires=1,avg_ttl=0\r\ndb1:keys=2,expires=0,avg_ttl=0\r\n";
        let mut stats = Stats::default();
        add_info(&mut stats, info);
        add_info(&mut stats, info);
        assert_eq!(stats.hits, Some(20));
        assert_eq!(stats.misses, Some(6));
        assert_eq!(stats.memory_usage, Some(2000));
        assert_eq!(
            stats.memory_available, None,
            "maxmemory 0 means no limit is known"
        );
        assert_eq!(stats.entries, Some(14));
        assert_eq!(stats.uptime, Some(Duration::from_secs(42)));
    }
}
