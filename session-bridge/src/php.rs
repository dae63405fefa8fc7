//! PHP's own session handlers' layouts: the keys, values and locks of phpredis and
//! php-memcached, so that PHP and Rust read each other's sessions and take turns on one.

use std::sync::Arc;

use cache_store::{Error, ErrorKind, Result, Store};
use simple_cache::Cache;

use crate::cache_handler::CacheSessionHandler;
use crate::options::{LockKey, LockOptions, SessionOptions};

/// A PHP session handler whose sessions a Rust service shares: where it keeps them, and the
/// lock it honours.
///
/// Session data is PHP's own encoding (`session.serialize_handler`), passed through as bytes:
/// read it with `php_marshal::session::decode` and write it with
/// `php_marshal::session::encode` in the same format. The lifetime is PHP's
/// `session.gc_maxlifetime` (1440 s unless set with
/// [`SessionOptions::with_max_lifetime`]).
///
/// Symfony's handlers are here with their default prefixes; with another `prefix` option,
/// open the store with that namespace and `keys=php` and use [`options`](Self::options).
///
/// Locks: the Rust side takes the lock PHP takes, under PHP's key, with an atomic add that
/// expires ([`LockOptions::expiry`]), and releases only its own. PHP honours it when its
/// locking is on: phpredis's is off by default (`redis.session.locking_enabled=1`, and a
/// `redis.session.lock_expire`, or a CLI script's lock never expires), php-memcached's on.
/// Without locks on both sides, two requests on one session can each overwrite the other's
/// write: the last to write wins, and what the other added is lost.
///
/// ```no_run
/// use session_bridge::{PhpSessions, SessionHandler};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// // PHP: session.save_handler=redis, session.save_path="tcp://10.0.0.1:6379"
/// let sessions = PhpSessions::Phpredis.open("redis://10.0.0.1:6379/0").await?;
/// let request = sessions.clone();
/// let data = request.read("6c4f2b1e0a9d8c7b6a5f4e3d2c1b0a99").await?; // takes PHP's lock
/// let vars = php_marshal::session::decode(php_marshal::session::SessionFormat::Php, &data);
/// request.close().await?;
/// # let _ = vars;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PhpSessions {
    /// phpredis (`session.save_handler=redis`): `PHPREDIS_SESSION:<id>`, its lock
    /// `PHPREDIS_SESSION:<id>_LOCK`.
    Phpredis,
    /// phpredis on Redis Cluster (`session.save_handler=rediscluster`):
    /// `PHPREDIS_CLUSTER_SESSION:<id>`. phpredis's cluster handler takes **no lock** (up to
    /// its 6.x releases at least): the Rust side locks `…_LOCK` among Rust requests, but
    /// concurrent PHP requests on one session can lose each other's writes.
    PhpredisCluster,
    /// php-memcached (`session.save_handler=memcached`): `memc.sess.key.<id>`, its lock
    /// `memc.sess.key.lock.<id>`. On several servers, PHP must pick them as this crate
    /// does: `memcached.sess_consistent_hash_type=ketama_weighted` (libmemcached's
    /// libketama-compatible ring, the one Symfony's connections use), the servers listed in
    /// the same order on both sides.
    PhpMemcached,
    /// Symfony's `RedisSessionHandler` (its default prefix): `sf_s<id>`. Symfony takes no
    /// lock; the Rust side locks `sf_s<id>.lock` among Rust requests.
    SymfonyRedis,
    /// Symfony's `MemcachedSessionHandler` (its default prefix, over a client without
    /// `OPT_PREFIX_KEY`): `sf2s<id>`. Symfony takes no lock; the Rust side locks
    /// `sf2s<id>.lock` among Rust requests.
    SymfonyMemcached,
}

impl PhpSessions {
    /// The store namespace PHP's keys fall under: for phpredis the part before `:`; otherwise
    /// the whole key prefix (`memcached.sess_prefix`, Symfony's `prefix` option).
    pub fn namespace(self) -> &'static str {
        match self {
            PhpSessions::Phpredis => "PHPREDIS_SESSION",
            PhpSessions::PhpredisCluster => "PHPREDIS_CLUSTER_SESSION",
            PhpSessions::PhpMemcached => "memc.sess.key.",
            PhpSessions::SymfonyRedis => "sf_s",
            PhpSessions::SymfonyMemcached => "sf2s",
        }
    }

    /// The lock PHP takes, with this crate's waits and a 30 s expiry (PHP's
    /// `max_execution_time` by default).
    pub fn lock_options(self) -> LockOptions {
        LockOptions {
            key: match self {
                PhpSessions::Phpredis | PhpSessions::PhpredisCluster => LockKey::phpredis(),
                PhpSessions::PhpMemcached => LockKey::php_memcached(),
                PhpSessions::SymfonyRedis | PhpSessions::SymfonyMemcached => {
                    LockKey::AfterId(".lock".to_owned())
                }
            },
            ..LockOptions::default()
        }
    }

    /// Session options with PHP's keys (no prefix: the store's namespace is PHP's) and
    /// locking on with [`lock_options`](Self::lock_options).
    ///
    /// # Errors
    ///
    /// Never in practice: the preset's settings are valid.
    pub fn options(self) -> Result<SessionOptions> {
        SessionOptions::new()
            .with_prefix("")?
            .with_locking(self.lock_options())
    }

    /// The URL of the store PHP's sessions are in: `url` (the servers, as for
    /// [`cache_store::open`]) with PHP's namespace, and on memcached php-memcached's plain
    /// keys.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for a URL that names a namespace of its own, or whose
    /// scheme is not this handler's backend.
    pub fn store_url(self, url: &str) -> Result<String> {
        let memcached = url.starts_with("memcache://") || url.starts_with("memcached://");
        let fits = match self {
            PhpSessions::Phpredis => url.starts_with("redis://") || url.starts_with("rediss://"),
            PhpSessions::PhpredisCluster => url.starts_with("redis+cluster://"),
            PhpSessions::SymfonyRedis => url.starts_with("redis"),
            PhpSessions::PhpMemcached | PhpSessions::SymfonyMemcached => memcached,
        };
        if !fits {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("{self:?} sessions are not on {url:?}"),
            ));
        }
        if url.contains("namespace=") {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "the namespace of PHP's sessions is PHP's: leave it out of the URL",
            ));
        }
        let separator = if url.contains('?') { '&' } else { '?' };
        let keys = match self {
            PhpSessions::PhpMemcached => "&keys=php-opt-prefix",
            PhpSessions::SymfonyRedis | PhpSessions::SymfonyMemcached => "&keys=php",
            PhpSessions::Phpredis | PhpSessions::PhpredisCluster => "",
        };
        Ok(format!(
            "{url}{separator}namespace={}{keys}",
            self.namespace()
        ))
    }

    /// The session handler for PHP's sessions on the servers of `url`, without locks: for
    /// [`TowerSessionStore`](crate::TowerSessionStore), which has no end of request to
    /// release one at, or where PHP takes none either.
    ///
    /// # Errors
    ///
    /// As [`store_url`](Self::store_url) and [`cache_store::open`].
    pub async fn open_unlocked(
        self,
        url: &str,
    ) -> Result<CacheSessionHandler<Cache<Arc<dyn Store>>>> {
        let store = cache_store::open(&self.store_url(url)?).await?;
        Ok(CacheSessionHandler::new(
            Arc::new(Cache::new(store)),
            SessionOptions::new().with_prefix("")?,
        ))
    }

    /// The session handler for PHP's sessions on the servers of `url`, with
    /// [`options`](Self::options).
    ///
    /// # Errors
    ///
    /// As [`store_url`](Self::store_url) and [`cache_store::open`].
    pub async fn open(self, url: &str) -> Result<CacheSessionHandler<Cache<Arc<dyn Store>>>> {
        let store = cache_store::open(&self.store_url(url)?).await?;
        Ok(CacheSessionHandler::new(
            Arc::new(Cache::new(store)),
            self.options()?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_carry_phps_namespace() {
        assert_eq!(
            PhpSessions::Phpredis.store_url("redis://h:1/0").unwrap(),
            "redis://h:1/0?namespace=PHPREDIS_SESSION"
        );
        assert_eq!(
            PhpSessions::PhpMemcached
                .store_url("memcache://a:1,b:2?request_timeout=2s")
                .unwrap(),
            "memcache://a:1,b:2?request_timeout=2s&namespace=memc.sess.key.&keys=php-opt-prefix"
        );
        for (preset, url) in [
            (PhpSessions::Phpredis, "memcache://a:1"),
            (PhpSessions::PhpredisCluster, "redis://a:1"),
            (PhpSessions::PhpMemcached, "memcache://a:1?namespace=x"),
        ] {
            assert_eq!(
                preset.store_url(url).unwrap_err().kind(),
                ErrorKind::InvalidArgument,
                "{preset:?} {url}"
            );
        }
    }

    #[test]
    fn locks_are_under_phps_keys() {
        let lock = |preset: PhpSessions| preset.lock_options().key.key("", "abc");
        assert_eq!(lock(PhpSessions::Phpredis), "abc_LOCK");
        assert_eq!(lock(PhpSessions::PhpMemcached), "lock.abc");
        for preset in [
            PhpSessions::Phpredis,
            PhpSessions::PhpredisCluster,
            PhpSessions::PhpMemcached,
            PhpSessions::SymfonyRedis,
            PhpSessions::SymfonyMemcached,
        ] {
            assert!(preset.options().unwrap().locking().is_some());
        }
    }
}
