//! The backend contract: one byte-level, batch-first, object-safe async trait.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::expiry::{Deadline, Expiration};
use crate::key::Key;

/// One write of a batch: a key, its value and its expiration.
///
/// The value is owned ([`Entry::new`]) or borrowed from the caller ([`Entry::borrowed`]).
/// Borrowing is what a batch written from values the caller keeps wants: a network backend
/// only copies the bytes onto the wire, and the first clone of a `Bytes` made from a `Vec`
/// allocates (a hundred of them cost a 100-entry batch measurably more than its encoding).
///
/// ```
/// use cache_store::{Bytes, Entry, Expiration, Key};
///
/// let kept = Bytes::from(vec![b'v'; 100]);
/// let entries = [
///     Entry::new(Key::new("owned")?, "value", Expiration::Never),
///     Entry::borrowed(Key::new("borrowed")?, &kept, Expiration::Never),
/// ];
/// assert_eq!(&entries[1].value[..], &kept[..]);
/// # Ok::<(), cache_store::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The key to write.
    pub key: Key<'a>,
    /// The value, stored byte for byte.
    pub value: Cow<'a, Bytes>,
    /// When the entry expires.
    pub expiration: Expiration,
}

impl<'a> Entry<'a> {
    /// An entry that owns its value.
    pub fn new(key: Key<'a>, value: impl Into<Bytes>, expiration: Expiration) -> Self {
        Entry {
            key,
            value: Cow::Owned(value.into()),
            expiration,
        }
    }

    /// An entry that borrows its value from the caller.
    pub fn borrowed(key: Key<'a>, value: &'a Bytes, expiration: Expiration) -> Self {
        Entry {
            key,
            value: Cow::Borrowed(value),
            expiration,
        }
    }
}

/// The entries of a [`Store::set_many`] batch that were not written, each with its index in
/// the batch and the reason. Empty when every entry was written; it does not allocate then.
#[derive(Clone, Debug, Default)]
pub struct FailedEntries(Vec<(usize, Error)>);

impl FailedEntries {
    /// No failures.
    pub fn new() -> Self {
        FailedEntries(Vec::new())
    }

    /// Records that entry `index` of the batch failed with `error`.
    pub fn push(&mut self, index: usize, error: Error) {
        self.0.push((index, error));
    }

    /// Whether every entry was written.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many entries failed.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The failures, in batch order: `(index in the batch, error)`.
    pub fn iter(&self) -> impl Iterator<Item = &(usize, Error)> {
        self.0.iter()
    }

    /// `Ok(())` when every entry was written, else the first failure's error.
    ///
    /// # Errors
    ///
    /// The error of the first entry that failed.
    pub fn into_result(self) -> Result<()> {
        match self.0.into_iter().next() {
            None => Ok(()),
            Some((_, err)) => Err(err),
        }
    }
}

impl IntoIterator for FailedEntries {
    type Item = (usize, Error);
    type IntoIter = std::vec::IntoIter<(usize, Error)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// A value read with its deadline, by [`Store::get_many_with_deadlines`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The value.
    pub value: Bytes,
    /// When it expires; `None` when the backend cannot say.
    pub deadline: Option<Deadline>,
}

/// What a backend can tell about itself. Every field is `None` where the backend cannot say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Lookups that found a live entry.
    pub hits: Option<u64>,
    /// Lookups that found nothing.
    pub misses: Option<u64>,
    /// How long the backend has been up.
    pub uptime: Option<Duration>,
    /// Bytes in use.
    pub memory_usage: Option<u64>,
    /// Bytes still available before eviction starts.
    pub memory_available: Option<u64>,
    /// Entries held (approximate on moka, server-wide on network backends).
    pub entries: Option<u64>,
}

/// The narrow waist every abstraction is built on: a byte-level, batch-first async store.
///
/// A store handle belongs to one **namespace**; everything it does stays inside it, and
/// [`clear`](Store::clear) empties that namespace only. Keys are [`Key`]s, so an invalid key
/// has been rejected before any method can be called. Values are [`Bytes`], stored exactly.
///
/// The trait is object safe: `Arc<dyn Store>` is a store too, so a backend can be chosen from
/// configuration at run time (see [`open`](crate::open)).
///
/// # Behavior shared by every backend
///
/// - An expired entry is never returned, counted by `contains`, or kept by `touch` (a
///   backend whose clock counts whole seconds may return it up to two seconds late); no entry
///   is a miss before its deadline. Lifetimes follow
///   [one rule on every backend](crate::Expiration#one-rule-on-every-backend).
/// - A write whose expiration is already reached deletes the key (never "stores forever").
/// - Deleting a missing key succeeds.
/// - Nothing any method does reaches outside the handle's namespace.
///
/// `cache-testkit` checks all of this for any implementation with one call.
///
/// # Implementer notes
///
/// Implement the batch methods with one round trip per server. The single-key methods
/// ([`get`](Store::get), [`set`](Store::set), [`delete`](Store::delete)) are provided on top of
/// the batch ones; override them when the backend has a cheaper single-key path.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use cache_store::{Expiration, Key, Store, moka::MokaStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let store = MokaStore::builder().namespace("docs").build()?;
/// let key = Key::new("greeting")?;
/// store.set(key, "hello".into(), Expiration::After(Duration::from_secs(60))).await?;
/// assert_eq!(store.get(key).await?.as_deref(), Some(&b"hello"[..]));
///
/// // Batches are aligned with their input.
/// let missing = Key::new("missing")?;
/// let values = store.get_many(&[key, missing]).await?;
/// assert!(values[0].as_ref().is_ok_and(|v| v.is_some()));
/// assert!(values[1].as_ref().is_ok_and(|v| v.is_none()));
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// Reads many keys at once.
    ///
    /// # Behavior
    ///
    /// The result has one slot per requested key, in order; a key asked twice gets two slots.
    /// A slot is `Ok(None)` for a missing or expired key, and for a key holding data this
    /// store cannot read as a value (a Redis key of another type, written by another
    /// program): [`get`](Store::get), `get_many` and [`contains`](Store::contains) give one
    /// answer for every key. A slot is `Err` only when that key alone could not be read (its
    /// server failed while the others answered); one bad key never fails the others. An empty
    /// request returns an empty vector without I/O.
    ///
    /// # Errors
    ///
    /// The outer `Err` means the batch as a whole failed (backend unreachable, timeout).
    async fn get_many(&self, keys: &[Key<'_>]) -> Result<Vec<Result<Option<Bytes>>>>;

    /// Writes many entries at once, each with its own expiration.
    ///
    /// # Behavior
    ///
    /// Every entry whose expiration is already reached is deleted instead of written. When a
    /// key appears twice, the later entry wins. Entries that the backend refuses for
    /// themselves (a value over its size limit, or anything else the server will not take
    /// for that entry alone) are reported in the returned [`FailedEntries`]; all the other
    /// entries are still written. Writing the same entry again gets the same refusal.
    ///
    /// # Errors
    ///
    /// The outer `Err` means the batch as a whole failed (connection, timeout); which entries
    /// were written before the failure is then unknown.
    async fn set_many(&self, entries: &[Entry<'_>]) -> Result<FailedEntries>;

    /// Deletes many keys at once.
    ///
    /// # Behavior
    ///
    /// Missing keys are not an error: afterwards none of the keys is present.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn delete_many(&self, keys: &[Key<'_>]) -> Result<()>;

    /// Whether a live entry exists for `key`, without transferring its value: `true` exactly
    /// when [`get`](Store::get) would return a value.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn contains(&self, key: Key<'_>) -> Result<bool>;

    /// Writes `value` only if `key` holds no live entry, atomically (the basis for locks and
    /// collision-safe session creation).
    ///
    /// # Behavior
    ///
    /// Returns `true` when the key was absent, in which case the entry is written (or, if the
    /// expiration is already reached, nothing is written), and `false`, leaving the existing
    /// entry untouched, when it was present. Of many concurrent `add`s of one absent key, exactly
    /// one returns `true`.
    ///
    /// # Errors
    ///
    /// Backend failures, or [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge).
    async fn add(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<bool>;

    /// Gives a live entry a new expiration without rewriting its value.
    ///
    /// # Behavior
    ///
    /// Returns `true` when the key held a live entry. An expiration that is already reached
    /// deletes the entry; [`Expiration::Never`] removes its deadline.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn touch(&self, key: Key<'_>, expiration: Expiration) -> Result<bool>;

    /// Empties this handle's namespace.
    ///
    /// # Behavior
    ///
    /// Afterwards no key written before the call is visible through any handle of this
    /// namespace. Other namespaces, and data the store does not own, are untouched: no backend
    /// flushes a whole server or database for this.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn clear(&self) -> Result<()>;

    /// What the backend can tell about its use.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn stats(&self) -> Result<Stats>;

    /// The namespace of this handle.
    fn namespace(&self) -> &str;

    /// The clock this store resolves expirations with. Layers above a store (pools, deferred
    /// queues) take their time from it, so that a store on a
    /// [`ManualClock`](crate::ManualClock) moves them too. Network backends keep the default,
    /// the [`SystemClock`].
    fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(SystemClock)
    }

    /// A short name of the backend (`memory`, `moka`, `redis`, `memcached`, `null`), for
    /// traces and metrics labels ([`Observed`](crate::Observed)). Stores of other crates keep
    /// the default, `custom`.
    fn backend(&self) -> &'static str {
        "custom"
    }

    /// Reads many keys with their deadlines, for a cache in front of this store (so that it
    /// never keeps a value past its end).
    ///
    /// # Behavior
    ///
    /// As [`get_many`](Store::get_many), each hit with its deadline as one atomic read of the
    /// entry: exact in memory, read with the value on Redis. The provided method answers
    /// `deadline: None` (unknown), as memcached does.
    ///
    /// # Errors
    ///
    /// As [`get_many`](Store::get_many).
    async fn get_many_with_deadlines(
        &self,
        keys: &[Key<'_>],
    ) -> Result<Vec<Result<Option<Found>>>> {
        Ok(self
            .get_many(keys)
            .await?
            .into_iter()
            .map(|slot| {
                slot.map(|value| {
                    value.map(|value| Found {
                        value,
                        deadline: None,
                    })
                })
            })
            .collect())
    }

    /// Deletes `key` only while it holds exactly `expected`, atomically; says whether it
    /// deleted. The owner-checked release of a lock: whoever holds the token releases, never
    /// a holder that took over an expired lock.
    ///
    /// # Behavior
    ///
    /// `false` for a missing or expired key, and for one holding other bytes (left as it is).
    /// It is [`touch_if_equal`](Store::touch_if_equal) with an expiration already reached,
    /// so it is atomic wherever that is.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn delete_if_equal(&self, key: Key<'_>, expected: &[u8]) -> Result<bool> {
        self.touch_if_equal(key, expected, Expiration::After(Duration::ZERO))
            .await
    }

    /// Gives `key` a new expiration only while it holds exactly `expected`, atomically; says
    /// whether it did. The owner-checked refresh of a lock.
    ///
    /// # Behavior
    ///
    /// As [`touch`](Store::touch) (an expiration already reached deletes the entry), for a key
    /// holding `expected` only; `false`, leaving the key as it is, otherwise. Atomic on every
    /// built-in backend; the provided method reads, compares and touches in two steps.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn touch_if_equal(
        &self,
        key: Key<'_>,
        expected: &[u8],
        expiration: Expiration,
    ) -> Result<bool> {
        if self.get(key).await?.as_deref() != Some(expected) {
            return Ok(false);
        }
        self.touch(key, expiration).await
    }

    /// Reads one key: `None` when missing or expired.
    ///
    /// # Errors
    ///
    /// Backend failures, or [`ErrorKind::Decode`](crate::ErrorKind::Decode) when the stored
    /// data cannot be read.
    async fn get(&self, key: Key<'_>) -> Result<Option<Bytes>> {
        let mut values = self.get_many(std::slice::from_ref(&key)).await?;
        values.pop().unwrap_or(Ok(None))
    }

    /// Writes one entry; an already reached expiration deletes the key.
    ///
    /// # Errors
    ///
    /// Backend failures, or [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge).
    async fn set(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<()> {
        let entry = Entry::new(key, value, expiration);
        self.set_many(std::slice::from_ref(&entry))
            .await?
            .into_result()
    }

    /// Deletes one key; a missing key is not an error.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn delete(&self, key: Key<'_>) -> Result<()> {
        self.delete_many(std::slice::from_ref(&key)).await
    }
}

/// A boxed future, as `#[async_trait]` methods return them.
type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A shared store is a store, so `Arc<dyn Store>` (and `Arc<MokaStore>`) can be handed to
/// anything generic over [`Store`].
///
/// Written out rather than through `#[async_trait]`: each method hands back the inner store's
/// own future, where an `async fn` here would box a second future around it on every call.
impl<S: Store + ?Sized> Store for Arc<S> {
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
        (**self).get_many(keys)
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
        (**self).set_many(entries)
    }

    fn delete_many<'s, 'k, 'kk, 'f>(&'s self, keys: &'k [Key<'kk>]) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        'k: 'f,
        'kk: 'f,
        Self: 'f,
    {
        (**self).delete_many(keys)
    }

    fn contains<'s, 'k, 'f>(&'s self, key: Key<'k>) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).contains(key)
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
        (**self).add(key, value, expiration)
    }

    fn touch<'s, 'k, 'f>(&'s self, key: Key<'k>, expiration: Expiration) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).touch(key, expiration)
    }

    fn clear<'s, 'f>(&'s self) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        Self: 'f,
    {
        (**self).clear()
    }

    fn stats<'s, 'f>(&'s self) -> Boxed<'f, Result<Stats>>
    where
        's: 'f,
        Self: 'f,
    {
        (**self).stats()
    }

    fn namespace(&self) -> &str {
        (**self).namespace()
    }

    fn clock(&self) -> Arc<dyn Clock> {
        (**self).clock()
    }

    fn backend(&self) -> &'static str {
        (**self).backend()
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
        (**self).get_many_with_deadlines(keys)
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
        (**self).delete_if_equal(key, expected)
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
        (**self).touch_if_equal(key, expected, expiration)
    }

    fn get<'s, 'k, 'f>(&'s self, key: Key<'k>) -> Boxed<'f, Result<Option<Bytes>>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).get(key)
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
        (**self).set(key, value, expiration)
    }

    fn delete<'s, 'k, 'f>(&'s self, key: Key<'k>) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).delete(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn _assert_object_safe(_: &dyn Store) {}

    #[test]
    fn failed_entries_report_the_first_error() {
        use crate::error::ErrorKind;
        let mut failed = FailedEntries::new();
        assert!(failed.clone().into_result().is_ok());
        failed.push(3, Error::new(ErrorKind::TooLarge, "big"));
        failed.push(5, Error::new(ErrorKind::Decode, "bad"));
        assert_eq!(failed.len(), 2);
        assert_eq!(failed.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [3, 5]);
        assert_eq!(
            failed.into_result().unwrap_err().kind(),
            ErrorKind::TooLarge
        );
    }
}
