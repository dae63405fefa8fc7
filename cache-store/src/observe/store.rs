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
use crate::store::{Entry, FailedEntries, Found, Stats, Store};

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
    DeleteIfEqual,
    TouchIfEqual,
    Clear,
    Stats,
}

impl Operation {
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(super) const ALL: [Operation; 13] = [
        Operation::Get,
        Operation::GetMany,
        Operation::Set,
        Operation::SetMany,
        Operation::Delete,
        Operation::DeleteMany,
        Operation::Contains,
        Operation::Add,
        Operation::Touch,
        Operation::DeleteIfEqual,
        Operation::TouchIfEqual,
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
            Operation::DeleteIfEqual => "delete_if_equal",
            Operation::TouchIfEqual => "touch_if_equal",
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

    /// `call` (the wrapped store's future for `operation` on `keys` keys), in its span and
    /// timed; `seen` records what an answer shows (hits, writes, refused entries). While
    /// nothing watches, `call` itself: no future of ours around it.
    fn observed<'f, T: Send + 'f>(
        &'f self,
        operation: Operation,
        keys: usize,
        call: Boxed<'f, Result<T>>,
        seen: fn(&Self, &tracing::Span, usize, &T),
    ) -> Boxed<'f, Result<T>>
    where
        S: 'f,
    {
        if !self.watched() {
            return call;
        }
        Box::pin(async move {
            let (span, started) = (self.span(operation, keys), self.start());
            let result = call.instrument(span.clone()).await;
            if let Ok(answer) = &result {
                seen(self, &span, keys, answer);
            }
            self.finish(operation, started, &span, &result);
            result
        })
    }

    /// Records nothing beyond the span and the latency.
    fn nothing<T>(&self, _: &tracing::Span, _: usize, _: &T) {}

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

/// Written out rather than through `#[async_trait]`, so that while nothing watches each
/// method hands back the wrapped store's own future (see `Observed::observed`).
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
        let call = self.inner.get_many(keys);
        self.observed(
            Operation::GetMany,
            keys.len(),
            call,
            |this, span, _, values| {
                let mut hits = 0;
                for value in values {
                    match value {
                        Ok(Some(_)) => hits += 1,
                        Ok(None) => {}
                        Err(error) => this.failed(span, error),
                    }
                }
                span.record("hits", hits);
                this.count_reads(values.len(), hits);
            },
        )
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
        let call = self.inner.set_many(entries);
        self.observed(
            Operation::SetMany,
            entries.len(),
            call,
            |this, span, entries, failed| {
                for (_, error) in failed.iter() {
                    this.failed(span, error);
                }
                this.wrote(entries - failed.len());
            },
        )
    }

    fn delete_many<'s, 'k, 'kk, 'f>(&'s self, keys: &'k [Key<'kk>]) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        'k: 'f,
        'kk: 'f,
        Self: 'f,
    {
        let call = self.inner.delete_many(keys);
        self.observed(Operation::DeleteMany, keys.len(), call, Self::nothing)
    }

    fn contains<'s, 'k, 'f>(&'s self, key: Key<'k>) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        let call = self.inner.contains(key);
        self.observed(Operation::Contains, 1, call, |_, span, _, found| {
            span.record("hits", usize::from(*found));
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
        let call = self.inner.add(key, value, expiration);
        self.observed(Operation::Add, 1, call, |this, _, _, added| {
            if *added {
                this.wrote(1);
            }
        })
    }

    fn touch<'s, 'k, 'f>(&'s self, key: Key<'k>, expiration: Expiration) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        let call = self.inner.touch(key, expiration);
        self.observed(Operation::Touch, 1, call, Self::nothing)
    }

    fn get_many_with_deadlines<'s, 'k, 'kk, 'f>(
        &'s self,
        keys: &'k [Key<'kk>],
    ) -> Boxed<'f, Result<Vec<Result<Option<Found>>>>>
    where
        's: 'f,
        'k: 'f,
        'kk: 'f,
        Self: 'f,
    {
        let call = self.inner.get_many_with_deadlines(keys);
        self.observed(
            Operation::GetMany,
            keys.len(),
            call,
            |this, span, _, found| {
                let hits = found
                    .iter()
                    .filter(|slot| matches!(slot, Ok(Some(_))))
                    .count();
                span.record("hits", hits);
                this.count_reads(found.len(), hits);
            },
        )
    }

    fn delete_if_equal<'s, 'k, 'e, 'f>(
        &'s self,
        key: Key<'k>,
        expected: &'e [u8],
    ) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'k: 'f,
        'e: 'f,
        Self: 'f,
    {
        let call = self.inner.delete_if_equal(key, expected);
        self.observed(Operation::DeleteIfEqual, 1, call, Self::nothing)
    }

    fn touch_if_equal<'s, 'k, 'e, 'f>(
        &'s self,
        key: Key<'k>,
        expected: &'e [u8],
        expiration: Expiration,
    ) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'k: 'f,
        'e: 'f,
        Self: 'f,
    {
        let call = self.inner.touch_if_equal(key, expected, expiration);
        self.observed(Operation::TouchIfEqual, 1, call, Self::nothing)
    }

    fn clear<'s, 'f>(&'s self) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        Self: 'f,
    {
        self.observed(Operation::Clear, 0, self.inner.clear(), Self::nothing)
    }

    fn stats<'s, 'f>(&'s self) -> Boxed<'f, Result<Stats>>
    where
        's: 'f,
        Self: 'f,
    {
        self.observed(Operation::Stats, 0, self.inner.stats(), Self::nothing)
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
        let call = self.inner.get(key);
        self.observed(Operation::Get, 1, call, |this, span, _, value| {
            let hits = usize::from(value.is_some());
            span.record("hits", hits);
            this.count_reads(1, hits);
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
        let call = self.inner.set(key, value, expiration);
        self.observed(Operation::Set, 1, call, |this, _, _, ()| this.wrote(1))
    }

    fn delete<'s, 'k, 'f>(&'s self, key: Key<'k>) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        let call = self.inner.delete(key);
        self.observed(Operation::Delete, 1, call, Self::nothing)
    }
}
