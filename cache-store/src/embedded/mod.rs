//! What the two embedded backends ([`crate::moka`] and [`crate::memory`]) share: namespaces
//! that many handles see alike, cleared in O(1) by a fresh generation, and the internal key
//! `generation ++ key` built on the stack, and hit and miss counts.

mod counts;
mod lookup_key;
mod namespaces;

pub(crate) use counts::Counts;
pub(crate) use lookup_key::LookupKey;
pub(crate) use namespaces::{NamespaceSlot, Namespaces};
