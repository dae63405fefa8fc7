//! The first level a store URL asks for: `first_level=memory|moka`, `first_level_capacity`,
//! `first_level_lifetime`, put in front of the URL's shared store as a
//! [`TwoLevel`](crate::two_level::TwoLevel), watched on Redis.

use std::sync::Arc;
use std::time::Duration;

use super::{invalid, observed, param, parse_duration, parse_size};
use crate::error::{Error, ErrorKind, Result};
use crate::store::Store;
use crate::two_level::{TwoLevel, TwoLevelBuilder};

/// The first level's parameters.
pub(super) const PARAMS: [&str; 3] = [
    "first_level",
    "first_level_capacity",
    "first_level_lifetime",
];

/// The first level's capacity when the URL gives none.
const DEFAULT_CAPACITY: u64 = 64 << 20;

/// What a URL asks of a first level.
#[derive(Debug)]
pub(super) struct FirstLevel {
    kind: Kind,
    #[cfg_attr(not(any(feature = "memory", feature = "moka")), allow(dead_code))]
    capacity: u64,
    lifetime: Option<Duration>,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Memory,
    Moka,
}

impl FirstLevel {
    /// Takes the first level's parameters out of `params`: `None` without `first_level`.
    pub(super) fn take(params: &mut Vec<(String, String)>) -> Result<Option<FirstLevel>> {
        let ours: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| PARAMS.contains(&k.as_str()))
            .cloned()
            .collect();
        params.retain(|(k, _)| !PARAMS.contains(&k.as_str()));
        let Some(kind) = param(&ours, "first_level") else {
            return match ours.first() {
                None => Ok(None),
                Some((k, _)) => Err(invalid(format!("{k} needs first_level=memory or moka"))),
            };
        };
        let kind = match kind {
            "memory" => Kind::Memory,
            "moka" => Kind::Moka,
            other => {
                return Err(invalid(format!(
                    "first_level={other:?}: the first level is memory or moka"
                )));
            }
        };
        Ok(Some(FirstLevel {
            kind,
            capacity: param(&ours, "first_level_capacity")
                .map_or(Ok(DEFAULT_CAPACITY), parse_size)?,
            lifetime: param(&ours, "first_level_lifetime")
                .map(parse_duration)
                .transpose()?,
        }))
    }

    /// `second` behind this first level; another process's change to a key is served from
    /// it for at most the first level's lifetime.
    #[cfg_attr(not(feature = "memcached"), allow(dead_code))]
    pub(super) fn in_front_of(&self, second: Arc<dyn Store>) -> Result<Arc<dyn Store>> {
        Ok(observed(self.two_level(second)?.build()))
    }

    /// `second` behind this first level, which drops a copy as soon as the server reports
    /// that another client changed its key ([`RedisStore::watch`]).
    ///
    /// [`RedisStore::watch`]: crate::redis::RedisStore::watch
    #[cfg(feature = "redis")]
    pub(super) fn in_front_of_watched(
        &self,
        second: crate::redis::RedisStore,
    ) -> Result<Arc<dyn Store>> {
        let invalidations = second.watch();
        let store = self.two_level(observed(second))?;
        Ok(observed(store.invalidations(invalidations).build()))
    }

    fn two_level(
        &self,
        second: Arc<dyn Store>,
    ) -> Result<TwoLevelBuilder<Arc<dyn Store>, Arc<dyn Store>>> {
        let builder = TwoLevel::builder(self.build(second.namespace())?, second);
        Ok(match self.lifetime {
            Some(lifetime) => builder.first_level_lifetime(lifetime),
            None => builder,
        })
    }

    fn build(&self, namespace: &str) -> Result<Arc<dyn Store>> {
        match self.kind {
            #[cfg(feature = "memory")]
            Kind::Memory => Ok(Arc::new(
                crate::memory::MemoryStore::builder()
                    .namespace(namespace)
                    .max_capacity_bytes(self.capacity)
                    .build()?,
            )),
            #[cfg(feature = "moka")]
            Kind::Moka => Ok(Arc::new(
                crate::moka::MokaStore::builder()
                    .namespace(namespace)
                    .max_capacity_bytes(self.capacity)
                    .build()?,
            )),
            #[allow(unreachable_patterns)]
            kind => {
                let name = match kind {
                    Kind::Memory => "memory",
                    Kind::Moka => "moka",
                };
                let _ = namespace;
                Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("first_level={name} needs the `{name}` feature of cache-store"),
                ))
            }
        }
    }
}
