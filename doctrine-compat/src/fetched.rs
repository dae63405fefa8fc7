//! The map `fetch_multiple` answers with, and its hasher.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use bytes::Bytes;

/// What [`fetch_multiple`](crate::MultiOperationCache::fetch_multiple) answers: the data found,
/// keyed by the caller's own ids (borrowed, so a batch copies no id). An ordinary `HashMap`
/// with a faster hasher than the standard one.
///
/// ```
/// # use bytes::Bytes;
/// let mut found = doctrine_compat::Fetched::default();
/// found.insert("id", Bytes::from_static(b"data"));
/// assert_eq!(found.get("id").map(|data| &data[..]), Some(&b"data"[..]));
/// ```
pub type Fetched<'a> = HashMap<&'a str, Bytes, IdHashBuilder>;

/// The hasher of [`Fetched`]: foldhash, seeded per process. On ids of a few dozen bytes it
/// costs a fraction of the standard SipHash, which a 100-id batch feels; the per-process seed
/// keeps chosen ids from flooding it.
#[derive(Clone, Debug, Default)]
pub struct IdHashBuilder(foldhash::fast::RandomState);

impl BuildHasher for IdHashBuilder {
    type Hasher = IdHasher;

    #[inline]
    fn build_hasher(&self) -> IdHasher {
        IdHasher(self.0.build_hasher())
    }
}

/// The [`Hasher`] an [`IdHashBuilder`] builds.
#[derive(Clone)]
pub struct IdHasher(foldhash::fast::FoldHasher<'static>);

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0.finish()
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.0.write_u8(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.0.write_usize(i);
    }
}

impl std::fmt::Debug for IdHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdHasher")
    }
}
