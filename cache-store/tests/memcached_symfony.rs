//! The memcached store in Symfony's `MemcachedAdapter` layout against real servers: every kit
//! (Store, PSR-6, PSR-16, Doctrine) over one server and over two, with either marshaller and
//! either long-id hash, so the layout PHP shares keeps every promise the native one does.
//! PHP itself reading and writing it is in cache-testkit's `php_symfony` tests.
//!
//! The URLs come from `CACHE_TEST_MEMCACHED_URL` and `CACHE_TEST_MEMCACHED_URLS`
//! (scripts/test-servers.sh sets them).

use cache_store::codec::Php;
use cache_store::memcached::{LongIds, SymfonyMemcached};
use cache_testkit::memcached::MemcachedFactory;

mod one_server {
    use super::*;
    cache_testkit::backend_suites!(
        if_configured: MemcachedFactory::from_env("CACHE_TEST_MEMCACHED_URL")
            .map(|f| f.symfony(SymfonyMemcached::new(Php::SERIALIZE))),
        without: [clock, foreign_data]
    );
}

mod two_servers {
    use super::*;
    cache_testkit::backend_suites!(
        if_configured: MemcachedFactory::from_env("CACHE_TEST_MEMCACHED_URLS")
            .map(|f| f.symfony(SymfonyMemcached::new(Php::IGBINARY).long_ids(LongIds::Xxh128))),
        without: [clock, foreign_data]
    );
}
