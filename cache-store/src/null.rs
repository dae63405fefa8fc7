//! A store that stores nothing: for switching caching off without touching the code above it.

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::Result;
use crate::expiry::Expiration;
use crate::key::{Key, validate_namespace};
use crate::store::{Entry, FailedEntries, Stats, Store};

/// A [`Store`] that accepts every write and forgets it, like Symfony's `NullAdapter`.
///
/// Every read misses, `contains` and `touch` answer `false`, and `add` answers `true` (the key
/// was absent, and still is). Writes report success because nothing was lost that the caller
/// could have read back from a cache that is switched off.
///
/// ```
/// use cache_store::{Expiration, Key, NullStore, Store};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let store = NullStore::new("app")?;
/// let key = Key::new("k")?;
/// store.set(key, "v".into(), Expiration::Never).await?;
/// assert_eq!(store.get(key).await?, None);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct NullStore {
    namespace: Box<str>,
}

impl NullStore {
    /// A null store for `namespace`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for an invalid
    /// namespace, as every backend checks it.
    pub fn new(namespace: &str) -> Result<Self> {
        validate_namespace(namespace)?;
        Ok(NullStore {
            namespace: namespace.into(),
        })
    }
}

#[async_trait]
impl Store for NullStore {
    async fn get_many(&self, keys: &[Key<'_>]) -> Result<Vec<Result<Option<Bytes>>>> {
        Ok(keys.iter().map(|_| Ok(None)).collect())
    }

    async fn set_many(&self, _entries: &[Entry<'_>]) -> Result<FailedEntries> {
        Ok(FailedEntries::new())
    }

    async fn delete_many(&self, _keys: &[Key<'_>]) -> Result<()> {
        Ok(())
    }

    async fn contains(&self, _key: Key<'_>) -> Result<bool> {
        Ok(false)
    }

    async fn add(&self, _key: Key<'_>, _value: Bytes, _expiration: Expiration) -> Result<bool> {
        Ok(true)
    }

    async fn touch(&self, _key: Key<'_>, _expiration: Expiration) -> Result<bool> {
        Ok(false)
    }

    async fn clear(&self) -> Result<()> {
        Ok(())
    }

    async fn stats(&self) -> Result<Stats> {
        Ok(Stats {
            entries: Some(0),
            memory_usage: Some(0),
            ..Stats::default()
        })
    }

    fn backend(&self) -> &'static str {
        "null"
    }

    fn namespace(&self) -> &str {
        &self.namespace
    }
}
