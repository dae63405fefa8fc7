//! `Store` for `Observed`: each call in its span, counted.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use tracing::Instrument as _;
use tracing::field::{Empty, debug};

use super::Observed;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::expiry::Expiration;
use crate::key::Key;
use crate::store::{Entry, FailedEntries, Stats, Store};

/// The operations, as the `operation` field and label name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Operation {
    Get,
    GetMany,
    Set,
    SetMany,
    Delete,
    DeleteMany,
    Contains,
    Add,
    Touch,
    Clear,
    Stats,
}

impl Operation {
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(super) const ALL: [Operation; 11] = [
        Operation::Get,
        Operation::GetMany,
        Operation::Set,
        Operation::SetMany,
        Operation::Delete,
        Operation::DeleteMany,
        Operation::Contains,
        Operation::Add,
        Operation::Touch,
        Operation::Clear,
        Operation::Stats,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Operation::Get => "get",
            Operation::GetMany => "get_many",
            Operation::Set => "set",
            Operation::SetMany => "set_many",
            Operation::Delete => "delete",
            Operation::DeleteMany => "delete_many",
            Operation::Contains => "contains",
            Operation::Add => "add",
            Operation::Touch => "touch",
            Operation::Clear => "clear",
            Operation::Stats => "stats",
        }
    }
}

/// When an operation started, for its latency (only kept with the `metrics` feature).
struct Started {
    #[cfg(feature = "metrics")]
    at: std::time::Instant,
}

impl<S: Store> Observed<S> {
    /// Whether anything watches: a subscriber that takes `cache_store`'s `DEBUG` spans (a
    /// check of a cached interest), or the `metrics` feature.
    #[inline]
    fn watched(&self) -> bool {
        cfg!(feature = "metrics") || tracing::enabled!(target: "cache_store", tracing::Level::DEBUG)
    }

    fn span(&self, operation: Operation, keys: usize) -> tracing::Span {
        tracing::debug_span!(
            target: "cache_store",
            "cache",
            operation = operation.name(),
            backend = self.inner.backend(),
            namespace = self.inner.namespace(),
            keys,
            hits = Empty,
            error = Empty,
        )
    }

    fn start(&self) -> Started {
        Started {
            #[cfg(feature = "metrics")]
            at: std::time::Instant::now(),
        }
    }

    /// Records the end of `operation`, and its error if it failed.
    fn finish<T>(
        &self,
        operation: Operation,
        started: Started,
        span: &tracing::Span,
        result: &Result<T>,
    ) {
        if let Err(error) = result {
            self.failed(span, error);
        }
        #[cfg(feature = "metrics")]
        self.meters.took(operation, started.at.elapsed());
        #[cfg(not(feature = "metrics"))]
        let _ = (operation, started);
    }

    /// Records one failure: on the span (the first one, for a batch) and in the counters.
    fn failed(&self, span: &tracing::Span, error: &Error) {
        span.record("error", debug(error.kind()));
        #[cfg(feature = "metrics")]
        self.meters.error(error.kind());
    }

    fn wrote(&self, entries: usize) {
        #[cfg(feature = "metrics")]
        self.meters.writes(entries);
        #[cfg(not(feature = "metrics"))]
        let _ = entries;
    }
}

/// A boxed future, as the `Store` trait's methods return them.
type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Written out rather than through `#[async_trait]`: while nothing watches (no subscriber
/// takes `cache_store`'s `DEBUG` spans, no `metrics` feature), each method hands back the
/// inner store's own future, so an unwatched `Observed` store costs one check per call.
impl<S: Store> Store for Observed<S> {
    fn get_many<'s, 'k, 'kk, 'f>(
        &'s self,
        keys: &'k [Key<'kk>],
    ) -> Boxed<'f, Result<Vec<Result<Option<Bytes>>>>>
    where
        's: 'f,
        'k: 'f,
        'kk: 'f,
        Self: 'f,
    {
        if !self.watched() {
            return self.inner.get_many(keys);
        }
        Box::pin(async move {
            let (span, started) = (self.span(Operation::GetMany, keys.len()), self.start());
            let result = self.inner.get_many(keys).instrument(span.clone()).await;
            if let Ok(values) = &result {
                let mut hits = 0;
                for value in values {
                    match value {
                        Ok(Some(_)) => hits += 1,
                        Ok(None) => {}
                        Err(error) => self.failed(&span, error),
                    }
                }
                span.record("hits", hits);
                self.count_reads(values.len(), hits);
            }
            self.finish(Operation::GetMany, started, &span, &result);
            result
        })
    }

    fn set_many<'s, 'e, 'ee, 'f>(
        &'s self,
        entries: &'e [Entry<'ee>],
    ) -> Boxed<'f, Result<FailedEntries>>
    where
        's: 'f,
        'e: 'f,
        'ee: 'f,
        Self: 'f,
    {
        if !self.watched() {
            return self.inner.set_many(entries);
        }
        Box::pin(async move {
            let (span, started) = (self.span(Operation::SetMany, entries.len()), self.start());
            let result = self.inner.set_many(entries).instrument(span.clone()).await;
            if let Ok(failed) = &result {
                for (_, error) in failed.iter() {
                    self.failed(&span, error);
                }
                self.wrote(entries.len() - failed.len());
            }
            self.finish(Operation::SetMany, started, &span, &result);
            result
        })
    }

    fn delete_many<'s, 'k, 'kk, 'f>(&'s self, keys: &'k [Key<'kk>]) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        'k: 'f,
        'kk: 'f,
        Self: 'f,
    {
        if !self.watched() {
            return self.inner.delete_many(keys);
        }
        Box::pin(async move {
            let (span, started) = (self.span(Operation::DeleteMany, keys.len()), self.start());
            let result = self.inner.delete_many(keys).instrument(span.clone()).await;
            self.finish(Operation::DeleteMany, started, &span, &result);
            result
        })
    }

    fn contains<'s, 'k, 'f>(&'s self, key: Key<'k>) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        if !self.watched() {
            return self.inner.contains(key);
        }
        Box::pin(async move {
            let (span, started) = (self.span(Operation::Contains, 1), self.start());
            let result = self.inner.contains(key).instrument(span.clone()).await;
            if let Ok(found) = &result {
                span.record("hits", usize::from(*found));
            }
            self.finish(Operation::Contains, started, &span, &result);
            result
        })
    }

    fn add<'s, 'k, 'f>(
        &'s self,
        key: Key<'k>,
        value: Bytes,
        expiration: Expiration,
    ) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        if !self.watched() {
            return self.inner.add(key, value, expiration);
        }
        Box::pin(async move {
            let (span, started) = (self.span(Operation::Add, 1), self.start());
            let result = self
                .inner
                .add(key, value, expiration)
                .instrument(span.clone())
                .await;
            if let Ok(true) = &result {
                self.wrote(1);
            }
            self.finish(Operation::Add, started, &span, &result);
            result
        })
    }

    fn touch<'s, 'k, 'f>(&'s self, key: Key<'k>, expiration: Expiration) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        if !self.watched() {
            return self.inner.touch(key, expiration);
        }
        Box::pin(async move {
            let (span, started) = (self.span(Operation::Touch, 1), self.start());
            let result = self
                .inner
                .touch(key, expiration)
                .instrument(span.clone())
                .await;
            self.finish(Operation::Touch, started, &span, &result);
            result
        })
    }

    fn clear<'s, 'f>(&'s self) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        Self: 'f,
    {
        if !self.watched() {
            return self.inner.clear();
        }
        Box::pin(async move {
            let (span, started) = (self.span(Operation::Clear, 0), self.start());
            let result = self.inner.clear().instrument(span.clone()).await;
            self.finish(Operation::Clear, started, &span, &result);
            result
        })
    }

    fn stats<'s, 'f>(&'s self) -> Boxed<'f, Result<Stats>>
    where
        's: 'f,
        Self: 'f,
    {
        if !self.watched() {
            return self.inner.stats();
        }
        Box::pin(async move {
            let (span, started) = (self.span(Operation::Stats, 0), self.start());
            let result = self.inner.stats().instrument(span.clone()).await;
            self.finish(Operation::Stats, started, &span, &result);
            result
        })
    }

    fn namespace(&self) -> &str {
        self.inner.namespace()
    }

    fn clock(&self) -> Arc<dyn Clock> {
        self.inner.clock()
    }

    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn get<'s, 'k, 'f>(&'s self, key: Key<'k>) -> Boxed<'f, Result<Option<Bytes>>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        if !self.watched() {
            return self.inner.get(key);
        }
        Box::pin(async move {
            let (span, started) = (self.span(Operation::Get, 1), self.start());
            let result = self.inner.get(key).instrument(span.clone()).await;
            if let Ok(value) = &result {
                let hits = usize::from(value.is_some());
                span.record("hits", hits);
                self.count_reads(1, hits);
            }
            self.finish(Operation::Get, started, &span, &result);
            result
        })
    }

    fn set<'s, 'k, 'f>(
        &'s self,
        key: Key<'k>,
        value: Bytes,
        expiration: Expiration,
    ) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        if !self.watched() {
            return self.inner.set(key, value, expiration);
        }
        Box::pin(async move {
            let (span, started) = (self.span(Operation::Set, 1), self.start());
            let result = self
                .inner
                .set(key, value, expiration)
                .instrument(span.clone())
                .await;
            if result.is_ok() {
                self.wrote(1);
            }
            self.finish(Operation::Set, started, &span, &result);
            result
        })
    }

    fn delete<'s, 'k, 'f>(&'s self, key: Key<'k>) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        if !self.watched() {
            return self.inner.delete(key);
        }
        Box::pin(async move {
            let (span, started) = (self.span(Operation::Delete, 1), self.start());
            let result = self.inner.delete(key).instrument(span.clone()).await;
            self.finish(Operation::Delete, started, &span, &result);
            result
        })
    }
}
