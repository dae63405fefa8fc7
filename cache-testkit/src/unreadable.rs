//! Data under an abstraction's key that it cannot read, for the cases that check every read
//! gives it one answer.

use bytes::Bytes;
use cache_store::{Expiration, Key, Result, Store};

use crate::store::StoreFactory;

/// A way of putting unreadable data under a key, behind an abstraction's back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// Stored bytes that are no valid value layout (a damaged metadata envelope).
    Bytes,
    /// Data the store itself cannot read as a value (a Redis list), where the backend can
    /// hold such data.
    Foreign,
}

impl Unreadable {
    /// Both ways.
    pub const ALL: [Unreadable; 2] = [Unreadable::Bytes, Unreadable::Foreign];
}

/// Bytes that start like the metadata envelope and end before its metadata.
pub fn damaged_envelope() -> Bytes {
    Bytes::from(vec![cache_pool::envelope::MARKER, 0x01, 1, 2, 3])
}

/// Puts `how` unreadable data under `key` of the stores of `factory` in `namespace`;
/// `false` when the backend cannot hold that kind.
///
/// # Errors
///
/// The store's failures.
pub async fn write_unreadable<F: StoreFactory + ?Sized>(
    factory: &F,
    namespace: &str,
    key: &str,
    how: Unreadable,
) -> Result<bool> {
    match how {
        Unreadable::Bytes => {
            let store = factory.create(namespace).await?;
            store
                .set(Key::new(key)?, damaged_envelope(), Expiration::Never)
                .await?;
            Ok(true)
        }
        Unreadable::Foreign => factory.write_foreign(namespace, key).await,
    }
}
