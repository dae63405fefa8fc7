//! `CacheItem`: a key, a value snapshot, and the expiry to save it with.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::format::Metadata;
use bytes::Bytes;
use cache_store::codec::{Codec, ValueCodec};
use cache_store::{Clock, Expiration, OwnedKey, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// One cache entry as PSR-6 sees it: the key asked for, the value found (a snapshot taken at
/// lookup time, never a live view), whether it was a hit, and the expiration it will be saved
/// with.
///
/// Items come from a pool ([`CacheItemPool::get_item`](crate::CacheItemPool::get_item)); an item
/// from one pool may be saved into another (PHP refuses "foreign" items; in Rust an item is
/// plain data, so there is nothing to refuse).
///
/// ```
/// use std::time::Duration;
/// use cache_pool::{CacheItemPool, Pool};
/// use cache_store::moka::MokaStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let pool = Pool::new(MokaStore::builder().build()?);
/// let mut item = pool.get_item("user.42").await?;
/// assert!(!item.is_hit());
/// item.set_as(&("Ada", 36))?.expires_after(Some(Duration::from_secs(60)));
/// pool.save(item).await?;
///
/// let item = pool.get_item("user.42").await?;
/// assert!(item.is_hit());
/// assert_eq!(item.get_as::<(String, u32)>(), Some(("Ada".to_owned(), 36)));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct CacheItem {
    key: OwnedKey,
    value: Option<Bytes>,
    hit: bool,
    expiration: Expiration,
    /// The metadata the value was read with.
    metadata: Option<Metadata>,
    /// The metadata a save writes: only a value the pool's `get` computed has any (Symfony's
    /// `newMetadata`). A hit saved again is written without the metadata it was read with,
    /// whose expiry would no longer be the value's.
    new_metadata: Option<Metadata>,
    /// Tags, only on items of a [`TagAwarePool`](crate::TagAwarePool) (boxed: most items
    /// have none, and carry one pointer for them).
    tags: Option<Box<ItemTags>>,
    clock: ItemClock,
    codec: ValueCodec,
}

/// An item's tags: those its value was saved with, and those it will be saved with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ItemTags {
    pub(crate) saved: Vec<String>,
    pub(crate) new: Vec<String>,
}

/// The time source of `expires_after`. The wall clock needs no shared handle, so items of
/// ordinary pools cost no reference counting.
#[derive(Clone, Debug)]
pub(crate) enum ItemClock {
    Wall,
    Shared(Arc<dyn Clock>),
}

impl ItemClock {
    pub(crate) fn of(clock: &Arc<dyn Clock>) -> Self {
        if clock.is_wall_clock() {
            ItemClock::Wall
        } else {
            ItemClock::Shared(Arc::clone(clock))
        }
    }

    fn now(&self) -> SystemTime {
        match self {
            ItemClock::Wall => SystemTime::now(),
            ItemClock::Shared(clock) => clock.now(),
        }
    }
}

impl CacheItem {
    /// A fresh, empty item for `key` (a miss), for adapters and bridges that write without
    /// reading first. Its [`expires_after`](Self::expires_after) counts on the wall clock; use
    /// [`expires`](Self::expires) with [`Expiration::After`] to count from the save instead.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKey`](cache_store::ErrorKind::InvalidKey) for an invalid key.
    /// Its typed values use MessagePack; an item from a pool's `get_item` uses the pool's
    /// codec.
    pub fn new(key: &str) -> Result<Self> {
        Ok(CacheItem::miss(
            OwnedKey::new(key)?,
            ItemClock::Wall,
            ValueCodec::default(),
        ))
    }

    pub(crate) fn miss(key: OwnedKey, clock: ItemClock, codec: ValueCodec) -> Self {
        CacheItem {
            key,
            value: None,
            hit: false,
            expiration: Expiration::Default,
            metadata: None,
            new_metadata: None,
            tags: None,
            clock,
            codec,
        }
    }

    pub(crate) fn hit(
        key: OwnedKey,
        value: Bytes,
        metadata: Option<Metadata>,
        clock: ItemClock,
        codec: ValueCodec,
    ) -> Self {
        CacheItem {
            key,
            value: Some(value),
            hit: true,
            expiration: Expiration::Default,
            metadata,
            new_metadata: None,
            tags: None,
            clock,
            codec,
        }
    }

    /// The key exactly as the caller asked for it.
    pub fn key(&self) -> &str {
        self.key.as_str()
    }

    /// Whether the lookup that produced this item found a live value. [`set`](Self::set) does
    /// not change it.
    pub fn is_hit(&self) -> bool {
        self.hit
    }

    /// The value: the one found for a hit, the one given to [`set`](Self::set) after a `set`,
    /// and `None` for a miss that was not set. An empty value is a value.
    pub fn value(&self) -> Option<&Bytes> {
        self.value.as_ref()
    }

    /// The value, consuming the item.
    pub fn into_value(self) -> Option<Bytes> {
        self.value
    }

    /// Key, value (empty when unset), expiration and the metadata to write, without copying
    /// the key.
    pub(crate) fn into_parts(self) -> (OwnedKey, Bytes, Expiration, Option<Metadata>) {
        (
            self.key,
            self.value.unwrap_or_default(),
            self.expiration,
            self.new_metadata,
        )
    }

    /// Replaces the value to save. Nothing is written until the item is saved.
    pub fn set(&mut self, value: impl Into<Bytes>) -> &mut Self {
        self.value = Some(value.into());
        self
    }

    /// The value decoded with the item's [`codec`](Self::codec). `None` for a miss **and** for
    /// a value that does not decode as `T` (a PSR-6 miss: never damaged data), which is logged
    /// as a warning; use [`try_get_as`](Self::try_get_as) to see the error.
    pub fn get_as<T: DeserializeOwned>(&self) -> Option<T> {
        match self.try_get_as(&self.codec) {
            Ok(value) => value,
            Err(err) => {
                tracing::warn!(key = self.key(), error = %err, "cached value does not decode; treating it as a miss");
                None
            }
        }
    }

    /// The value decoded with `codec`: `Ok(None)` for a miss.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decode`](cache_store::ErrorKind::Decode) when the value does not decode
    /// as `T`.
    pub fn try_get_as<T: DeserializeOwned, C: Codec>(&self, codec: &C) -> Result<Option<T>> {
        self.value.as_deref().map(|v| codec.decode(v)).transpose()
    }

    /// Encodes `value` with the item's [`codec`](Self::codec) and sets it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](cache_store::ErrorKind::InvalidArgument) when the value
    /// cannot be serialized.
    pub fn set_as<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<&mut Self> {
        let codec = self.codec;
        self.set_as_with(&codec, value)
    }

    /// The codec of [`get_as`](Self::get_as) and [`set_as`](Self::set_as): the codec of the
    /// pool's [`ValueFormat`](crate::ValueFormat) for an item it gave, MessagePack for one
    /// made with [`new`](Self::new).
    pub fn codec(&self) -> ValueCodec {
        self.codec
    }

    /// Encodes `value` with `codec` and sets it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](cache_store::ErrorKind::InvalidArgument) when the value
    /// cannot be serialized.
    pub fn set_as_with<T: Serialize + ?Sized, C: Codec>(
        &mut self,
        codec: &C,
        value: &T,
    ) -> Result<&mut Self> {
        self.value = Some(codec.encode(value)?);
        Ok(self)
    }

    /// Expires the item at `when`; `None` restores the pool's default lifetime. An instant not
    /// in the future saves as "absent". The last of `expires_at` / `expires_after` wins.
    pub fn expires_at(&mut self, when: Option<SystemTime>) -> &mut Self {
        self.expiration = when.map_or(Expiration::Default, Expiration::At);
        self
    }

    /// Expires the item `ttl` after **this call** (not after the save, as PSR-6 says); `None`
    /// restores the pool's default lifetime, and [`Duration::ZERO`] saves as "absent".
    pub fn expires_after(&mut self, ttl: Option<Duration>) -> &mut Self {
        self.expiration = match ttl {
            None => Expiration::Default,
            Some(ttl) => self
                .clock
                .now()
                .checked_add(ttl)
                .map_or(Expiration::Never, Expiration::At),
        };
        self
    }

    /// Keeps the item until it is evicted or deleted, whatever the pool's default lifetime.
    pub fn never_expires(&mut self) -> &mut Self {
        self.expiration = Expiration::Never;
        self
    }

    /// The expiration the item will be saved with.
    pub fn expiration(&self) -> Expiration {
        self.expiration
    }

    /// Sets the expiration directly: [`Expiration::After`] counts from the write to the store,
    /// [`Expiration::Default`] is the pool's default lifetime (counted the same way).
    ///
    /// For [`save`](crate::CacheItemPool::save) the write is at once. For
    /// [`save_deferred`](crate::CacheItemPool::save_deferred) it is the
    /// [`commit`](crate::CacheItemPool::commit): the lifetime starts when the value reaches
    /// the store, so an item deferred for a while still lives its whole lifetime there, and
    /// it does not expire while it waits in the queue (`After(ZERO)` excepted: that is
    /// already expired). Symfony counts a pool's default lifetime from the commit too. For
    /// PSR-6's "from now", use [`expires_after`](Self::expires_after), which fixes the
    /// instant when it is called.
    pub fn expires(&mut self, expiration: Expiration) -> &mut Self {
        self.expiration = expiration;
        self
    }

    /// The stampede-protection metadata the value was saved with, if it was computed through
    /// [`get`](crate::CacheItemPoolExt::get) with an expiry: when it expires and how long it
    /// took to compute. Saving the item again writes it without them, as PHP does: the expiry
    /// they record would no longer be the value's.
    pub fn metadata(&self) -> Option<Metadata> {
        self.metadata
    }

    /// Sets the metadata a save writes (for a value `get` computed).
    pub(crate) fn set_new_metadata(&mut self, metadata: Option<Metadata>) {
        self.new_metadata = metadata;
    }

    /// Tags the item: saved through a [`TagAwarePool`](crate::TagAwarePool), it is dropped
    /// when one of its tags is invalidated ([`TagAware::invalidate_tags`](crate::TagAware)).
    /// A tag follows the key rules; tagging twice with one tag tags once. A pool that is not
    /// tag-aware saves the value and ignores its tags.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKey`](cache_store::ErrorKind::InvalidKey) for an empty tag or one
    /// with a reserved character.
    pub fn tag(&mut self, tag: &str) -> Result<&mut Self> {
        cache_store::validate_key(tag)?;
        let tags = self.tags.get_or_insert_with(Box::default);
        if !tags.new.iter().any(|t| t == tag) {
            tags.new.push(tag.to_owned());
        }
        Ok(self)
    }

    /// The tags the value was saved with, for a hit of a [`TagAwarePool`](crate::TagAwarePool)
    /// (Symfony's `getMetadata()['tags']`); empty otherwise. Tags given to
    /// [`tag`](Self::tag) since are not among them until the item is saved and read again.
    pub fn tags(&self) -> &[String] {
        self.tags.as_ref().map_or(&[], |tags| &tags.saved)
    }

    /// The tags the item will be saved with.
    pub(crate) fn new_tags(&self) -> &[String] {
        self.tags.as_ref().map_or(&[], |tags| &tags.new)
    }

    pub(crate) fn set_saved_tags(&mut self, saved: Vec<String>) {
        self.tags.get_or_insert_with(Box::default).saved = saved;
    }
}

impl fmt::Debug for CacheItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheItem")
            .field("key", &self.key.as_str())
            .field("hit", &self.hit)
            .field("value", &self.value)
            .field("expiration", &self.expiration)
            .field("metadata", &self.metadata)
            .field("new_metadata", &self.new_metadata)
            .field("tags", &self.tags)
            .finish()
    }
}

impl PartialEq for CacheItem {
    /// Items are equal when key, value, hit flag, expiration and metadata are; the clock is not
    /// compared.
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
            && self.value == other.value
            && self.hit == other.hit
            && self.expiration == other.expiration
            && self.metadata == other.metadata
            && self.new_metadata == other.new_metadata
            && self.tags == other.tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cache_store::ManualClock;

    fn item() -> CacheItem {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(100));
        CacheItem::miss(
            OwnedKey::new("k").unwrap(),
            ItemClock::Shared(Arc::new(clock)),
            ValueCodec::default(),
        )
    }

    #[test]
    fn expires_after_counts_from_the_call() {
        let mut it = item();
        it.expires_after(Some(Duration::from_secs(5)));
        assert_eq!(
            it.expiration(),
            Expiration::At(SystemTime::UNIX_EPOCH + Duration::from_secs(105))
        );
        it.expires_after(None);
        assert_eq!(it.expiration(), Expiration::Default);
        it.expires_at(Some(SystemTime::UNIX_EPOCH));
        assert_eq!(it.expiration(), Expiration::At(SystemTime::UNIX_EPOCH));
        it.expires_after(Some(Duration::MAX));
        assert_eq!(it.expiration(), Expiration::Never);
    }

    #[test]
    fn set_keeps_the_hit_flag_and_typed_values_round_trip() {
        let mut it = item();
        it.set_as(&5u32).unwrap();
        assert!(!it.is_hit());
        assert_eq!(it.get_as::<u32>(), Some(5));
        assert_eq!(it.get_as::<String>(), None, "a wrong type is a miss");
        assert!(it.try_get_as::<String, _>(&ValueCodec::MsgPack).is_err());
        it.set("raw");
        assert_eq!(it.value().map(|v| &v[..]), Some(&b"raw"[..]));
    }
}
