//! Seeing what a store does: [`Observed`] wraps any [`Store`] and gives each operation a
//! `tracing` span and, with the `metrics` feature, counters and a latency histogram through
//! the `metrics` facade. [`open`](crate::open) wraps every store it opens.
//!
//! # Spans
//!
//! One span per store operation, named `cache`, at `DEBUG` level, target `cache_store`, with
//! these fields (the abstractions call one store operation per call of theirs, so a PSR-6
//! `get_item`, a PSR-16 `get` and a Doctrine `fetch` are each one span):
//!
//! | field | value |
//! |---|---|
//! | `operation` | `get`, `get_many`, `set`, `set_many`, `delete`, `delete_many`, `contains`, `add`, `touch`, `clear`, `stats` |
//! | `backend` | [`Store::backend`]: `memory`, `moka`, `redis`, `memcached`, `null`, … |
//! | `namespace` | the handle's namespace |
//! | `keys` | how many keys the operation names |
//! | `hits` | for reads: how many were found (a single `get`: 1 or 0) |
//! | `error` | when the operation failed: its [`ErrorKind`](crate::ErrorKind), as `Debug` prints it |
//!
//! With no subscriber taking them (or `DEBUG` off for `cache_store`) and without the `metrics`
//! feature, an `Observed` store hands each call straight to the store it wraps, after one
//! check of a cached interest (measured in `benches/README.md`).
//!
//! # Metrics (feature `metrics`)
//!
//! Labelled `backend` and `namespace`; record through whatever recorder the program installs
//! (`metrics-exporter-prometheus`, for one) **before** the store is opened, since the handles
//! are registered when the store is wrapped:
//!
//! | metric | kind | meaning |
//! |---|---|---|
//! | `cache_hits_total` | counter | keys read and found |
//! | `cache_misses_total` | counter | keys read and not found |
//! | `cache_writes_total` | counter | entries written (`set`, `set_many`, an `add` that wrote) |
//! | `cache_errors_total` | counter, also labelled `kind` | failed operations, by [`ErrorKind`](crate::ErrorKind) |
//! | `cache_operation_seconds` | histogram, also labelled `operation` | how long each operation took |
//!
//! [`Store::stats`] has `hits` and `misses` on every backend (the embedded ones count their
//! own; Redis and memcached report the server's).
//!
//! ```
//! use cache_store::{Expiration, Key, Observed, Store, memory::MemoryStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cache_store::Error> {
//! let store = Observed::new(MemoryStore::builder().namespace("app").build()?);
//! let key = Key::new("user.42")?;
//! store.set(key, "ada".into(), Expiration::Never).await?; // a span: set, 1 key
//! assert!(store.get(key).await?.is_some()); // a span: get, 1 key, 1 hit
//! assert_eq!(store.get(Key::new("nobody")?).await?, None);
//! let stats = store.stats().await?;
//! assert_eq!((stats.hits, stats.misses), (Some(1), Some(1)));
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "metrics")]
mod meters;
mod store;

use std::fmt;

use crate::store::Store;

/// A [`Store`] whose every operation is traced (and measured, with the `metrics` feature).
/// See the [module docs](self).
pub struct Observed<S> {
    inner: S,
    #[cfg(feature = "metrics")]
    meters: meters::Meters,
}

impl<S: Store> Observed<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Observed {
            #[cfg(feature = "metrics")]
            meters: meters::Meters::new(inner.backend(), inner.namespace()),
            inner,
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Counts a read of `keys` keys of which `hits` were found.
    fn count_reads(&self, keys: usize, hits: usize) {
        #[cfg(feature = "metrics")]
        self.meters.reads(hits, keys.saturating_sub(hits));
        #[cfg(not(feature = "metrics"))]
        let _ = (keys, hits);
    }
}

impl<S: fmt::Debug> fmt::Debug for Observed<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Observed").field(&self.inner).finish()
    }
}
