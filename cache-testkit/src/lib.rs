//! The conformance kit: the same tests for every backend and adapter, ours or yours.
//!
//! The kit is a library so that a backend author runs the whole suite with one call:
//!
//! - [`store`]: the [`Store`](cache_store::Store) contract. Implement
//!   [`StoreFactory`](store::StoreFactory) and invoke [`store_suite!`] in an integration test
//!   file: it expands to one `#[test]` per contract case (named after the rule it checks) and
//!   a model-based property test of 256 random operation sequences.
//! - [`pool`]: PSR-6 pools: every case of php-cache's `CachePoolTest` and the applicable
//!   Symfony extras, and a model-based property test with deferred saves. Implement
//!   [`PoolFactory`](pool::PoolFactory) and invoke [`pool_suite!`].
//! - [`simple`]: PSR-16 caches: every applicable case of php-cache's `SimpleCacheTest` and
//!   a model-based property test. Implement [`SimpleCacheFactory`](simple::SimpleCacheFactory)
//!   and invoke [`simple_suite!`].
//! - [`doctrine`]: Doctrine caches: the applicable cases of Doctrine's `CacheTest`,
//!   namespace versioning between instances included, and a model-based property test.
//!   Implement [`DoctrineFactory`](doctrine::DoctrineFactory) and invoke [`doctrine_suite!`].
//! - [`equivalence`]: every abstraction and bridge behaves the same: one vocabulary of
//!   operations through eight combinations (tag-aware ones included) over any store, checked against one model; invoke
//!   [`equivalence_suite!`].
//! - [`session`]: session handlers: the contract of PHP's handler interfaces (unknown ids,
//!   lifetimes, malformed ids, strict mode, locking under real concurrency), and a property
//!   test that the PSR-6, PSR-16 and Doctrine adapters give identical results. Implement
//!   [`SessionFactory`](session::SessionFactory) and invoke [`session_suite!`], or invoke
//!   [`session_suites!`] with a store factory.
//! - [`beyond`]: what the workspace adds beyond PHP over any store: locks shared by every
//!   process, leases that compute a miss once across processes, stale-while-revalidate.
//!   Invoke [`beyond_suite!`] with a store factory.
//! - [`over_store`]: the PSR-6, PSR-16 and Doctrine factories over any store factory, and
//!   [`backend_suites!`], which runs every kit (sessions included) over one backend.
//! - [`server_url`]: read a test server's URL from the environment, skipping with a printed
//!   reason when it is unset, and failing instead when
//!   [`CACHE_TEST_REQUIRE_SERVERS`](REQUIRE_SERVERS_VAR) is set (as CI does).
//!
//! # Example: testing a backend
//!
//! A file `tests/my_store.rs` of a backend crate:
//!
//! ```
//! use std::sync::Arc;
//! use cache_store::{ManualClock, Store, moka::MokaStore};
//! use cache_testkit::store::StoreFactory;
//!
//! struct Factory {
//!     clock: ManualClock,
//!     root: MokaStore,
//! }
//!
//! impl Factory {
//!     fn new() -> Self {
//!         let clock = ManualClock::starting_now();
//!         let root = MokaStore::builder().clock(clock.clone()).build().expect("store");
//!         Factory { clock, root }
//!     }
//! }
//!
//! #[async_trait::async_trait]
//! impl StoreFactory for Factory {
//!     async fn create(&self, namespace: &str) -> cache_store::Result<Arc<dyn Store>> {
//!         Ok(Arc::new(self.root.with_namespace(namespace)?))
//!     }
//!     fn clock(&self) -> Option<ManualClock> {
//!         Some(self.clock.clone())
//!     }
//! }
//!
//! // In the test file this one line is the whole suite:
//! // cache_testkit::store_suite!(Factory::new());
//!
//! // The pieces it runs can also be called one by one:
//! cache_testkit::block_on(cache_testkit::store::cases::add_writes_only_when_absent(&Factory::new()));
//! cache_testkit::store::check_model(
//!     &Factory::new(),
//!     cache_testkit::store::ModelOptions::default().cases(16),
//! );
//! ```
//!
//! For a server backend, build the factory from [`server_url`] and use the
//! `store_suite!(if_configured: ...)` form, which takes an `Option` of a factory.
//!
//! # Example: a custom backend gets every abstraction for free
//!
//! `cache-testkit/tests/custom_backend.rs` is a backend author's whole test file: a `Store`
//! over a `BTreeMap` behind a mutex (the eight methods, about a hundred lines), its factory,
//! and one line, `cache_testkit::backend_suites!(BTreeFactory::new(), without: [foreign_data])`,
//! which runs the Store contract and the PSR-6, PSR-16, Doctrine and session kits over it.
//! The `without` list names what the backend lacks (here: data other than values); a backend
//! that keeps its own time (a server) lacks a `clock` the kit can move. The cases that need
//! what is lacking are reported by `cargo test` as ignored, with the reason; a case that finds
//! a need missing that was not declared fails (see [`needs`]).
//! `cache-testkit/tests/kit_catches_broken_stores.rs` shows the kit failing on six
//! deliberately broken variants.
#![deny(missing_docs)]

pub mod beyond;
pub mod doctrine;
mod env;
pub mod equivalence;
pub mod lifetimes;
#[cfg(feature = "memcached")]
pub mod memcached;
#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "moka")]
pub mod moka;
pub mod needs;
pub mod over_store;
pub mod php;
pub mod pool;
mod private_server;
#[cfg(feature = "redis")]
pub mod redis;
mod sequences;
pub mod session;
pub mod simple;
pub mod store;
#[cfg(feature = "moka")]
pub mod two_level;
pub mod unreadable;

pub use env::{REQUIRE_SERVERS_VAR, server_url, unique_namespace};
pub use private_server::PrivateServer;

/// Runs a kit case to completion on a fresh two-thread tokio runtime (so the concurrency cases
/// run in parallel).
///
/// # Panics
///
/// When the runtime cannot be built, or the case itself panics (fails).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime for the kit")
        .block_on(future)
}

// `__<kit>_case_list!` for each kit, written by build.rs from the cases themselves.
include!(concat!(env!("OUT_DIR"), "/case_lists.rs"));

/// Expands to the whole `Store` suite: one `#[test]` per case of [`store::cases`] and the
/// property test [`store::check_model`].
///
/// - `store_suite!(factory_expr)`: `factory_expr` is evaluated afresh in each test and must
///   give a [`StoreFactory`](store::StoreFactory).
/// - `store_suite!(if_configured: option_expr)`: gives an `Option` of a factory; `None` skips
///   the test (for servers that are not configured; see [`server_url`]).
/// - Either form may end with `without: [name, ...]`, what the backend lacks (a clock the kit
///   can move, ...; the names are in [`needs`]): the cases that need it are reported as
///   ignored, with the reason.
///
/// Invoke it once per module; wrap it in `mod name { ... }` to run it over several factories
/// in one file.
#[macro_export]
macro_rules! store_suite {
    (if_configured: $factory:expr $(, without: [$($lacks:ident),* $(,)?])? $(,)?) => {
        $crate::__store_case_list! { ($factory) [$($($lacks)*)?] }
        $crate::__model_test! { store_contract_model_property ($factory) store check_model }
    };
    ($factory:expr $(, without: $lacks:tt)? $(,)?) => {
        $crate::store_suite!(if_configured: ::core::option::Option::Some($factory) $(, without: $lacks)?);
    };
}

/// Expands to the suite of what the workspace builds beyond PHP (locks, leases, stale values;
/// [`beyond::cases`]) over a [`StoreFactory`](store::StoreFactory). Forms as for
/// [`store_suite!`].
#[macro_export]
macro_rules! beyond_suite {
    (if_configured: $factory:expr $(, without: [$($lacks:ident),* $(,)?])? $(,)?) => {
        $crate::__beyond_case_list! { ($factory) [$($($lacks)*)?] }
    };
    ($factory:expr $(, without: $lacks:tt)? $(,)?) => {
        $crate::beyond_suite!(if_configured: ::core::option::Option::Some($factory) $(, without: $lacks)?);
    };
}

/// Expands to the whole PSR-6 suite: one `#[test]` per case of [`pool::cases`] and the
/// property test [`pool::check_pool_model`]. The forms are those of [`store_suite!`].
#[macro_export]
macro_rules! pool_suite {
    (if_configured: $factory:expr $(, without: [$($lacks:ident),* $(,)?])? $(,)?) => {
        $crate::__pool_case_list! { ($factory) [$($($lacks)*)?] }
        $crate::__model_test! { pool_contract_model_property ($factory) pool check_pool_model }
    };
    ($factory:expr $(, without: $lacks:tt)? $(,)?) => {
        $crate::pool_suite!(if_configured: ::core::option::Option::Some($factory) $(, without: $lacks)?);
    };
}

/// Expands to the whole PSR-16 suite: one `#[test]` per case of [`simple::cases`] and the
/// property test [`simple::check_simple_model`]. The forms are those of [`store_suite!`].
#[macro_export]
macro_rules! simple_suite {
    (if_configured: $factory:expr $(, without: [$($lacks:ident),* $(,)?])? $(,)?) => {
        $crate::__simple_case_list! { ($factory) [$($($lacks)*)?] }
        $crate::__model_test! { simple_contract_model_property ($factory) simple check_simple_model }
    };
    ($factory:expr $(, without: $lacks:tt)? $(,)?) => {
        $crate::simple_suite!(if_configured: ::core::option::Option::Some($factory) $(, without: $lacks)?);
    };
}

/// Expands to the whole Doctrine suite: one `#[test]` per case of [`doctrine::cases`] and the
/// property test [`doctrine::check_doctrine_model`]. The forms are those of [`store_suite!`].
#[macro_export]
macro_rules! doctrine_suite {
    (if_configured: $factory:expr $(, without: [$($lacks:ident),* $(,)?])? $(,)?) => {
        $crate::__doctrine_case_list! { ($factory) [$($($lacks)*)?] }
        $crate::__model_test! { doctrine_contract_model_property ($factory) doctrine check_doctrine_model }
    };
    ($factory:expr $(, without: $lacks:tt)? $(,)?) => {
        $crate::doctrine_suite!(if_configured: ::core::option::Option::Some($factory) $(, without: $lacks)?);
    };
}

/// Expands to the session suite: one `#[test]` per case of [`session::cases`] over a
/// [`SessionFactory`](session::SessionFactory). Forms as for [`store_suite!`].
#[macro_export]
macro_rules! session_suite {
    (if_configured: $factory:expr $(, without: [$($lacks:ident),* $(,)?])? $(,)?) => {
        $crate::__session_case_list! { ($factory) [$($($lacks)*)?] }
    };
    ($factory:expr $(, without: $lacks:tt)? $(,)?) => {
        $crate::session_suite!(if_configured: ::core::option::Option::Some($factory) $(, without: $lacks)?);
    };
}

/// One test per case of a kit's list, `[case [needs...], ...]`; `$without` is what the
/// backend lacks.
#[doc(hidden)]
#[macro_export]
macro_rules! __kit_tests {
    ($kit:ident ($factory:expr) $without:tt [$($case:ident [$($need:ident)*],)*]) => {
        $(
            $crate::__kit_test! { $kit $case ($factory) [$($need)*] $without }
        )*
    };
}

/// The test of one case: ignored with the reason of its first need the backend lacks, plain
/// when it lacks none.
#[doc(hidden)]
#[macro_export]
macro_rules! __kit_test {
    ($kit:ident $case:ident ($factory:expr) [] $without:tt) => {
        $crate::__kit_case_test! { $kit $case ($factory) }
    };
    ($kit:ident $case:ident ($factory:expr) [$need:ident $($more:ident)*] $without:tt) => {
        $crate::__kit_lacks! { $need $without
            lacking: { $kit $case ($factory) }
            present: { $crate::__kit_test! { $kit $case ($factory) [$($more)*] $without } }
        }
    };
}

/// Whether `$need` is among the names in the list after it: a lacking need expands to an
/// ignored test with its reason (one arm per name of [`needs`]), a present one to `present`.
#[doc(hidden)]
#[macro_export]
macro_rules! __kit_lacks {
    ($need:ident [] lacking: $lacking:tt present: { $($present:tt)* }) => {
        $($present)*
    };
    (clock [clock $($_rest:ident)*] lacking: { $($test:tt)* } present: $present:tt) => {
        $crate::__kit_case_test! {
            #[ignore = "needs a clock the kit can move: the backend keeps its own time"]
            $($test)*
        }
    };
    (data [data $($_rest:ident)*] lacking: { $($test:tt)* } present: $present:tt) => {
        $crate::__kit_case_test! {
            #[ignore = "needs a store that keeps data: this one keeps nothing (its model property covers it)"]
            $($test)*
        }
    };
    (foreign_data [foreign_data $($_rest:ident)*] lacking: { $($test:tt)* } present: $present:tt) => {
        $crate::__kit_case_test! {
            #[ignore = "needs data that is not a value: the backend holds nothing else"]
            $($test)*
        }
    };
    (damaged_bytes [damaged_bytes $($_rest:ident)*] lacking: { $($test:tt)* } present: $present:tt) => {
        $crate::__kit_case_test! {
            #[ignore = "needs damaged bytes under the caches: the factory cannot write them"]
            $($test)*
        }
    };
    (pool [pool $($_rest:ident)*] lacking: { $($test:tt)* } present: $present:tt) => {
        $crate::__kit_case_test! {
            #[ignore = "needs the PSR-6 pool under the Doctrine caches: the factory gives none"]
            $($test)*
        }
    };
    ($need:ident [$_other:ident $($rest:ident)*] lacking: $lacking:tt present: $present:tt) => {
        $crate::__kit_lacks! { $need [$($rest)*] lacking: $lacking present: $present }
    };
}

/// The `#[test]` that runs one case on a fresh runtime.
#[doc(hidden)]
#[macro_export]
macro_rules! __kit_case_test {
    ($(#[$attr:meta])* $kit:ident $case:ident ($factory:expr)) => {
        #[test]
        $(#[$attr])*
        fn $case() {
            let ::core::option::Option::Some(factory) = $factory else {
                return;
            };
            $crate::block_on($crate::$kit::cases::$case(&factory));
        }
    };
}

/// A kit's model-based property test.
#[doc(hidden)]
#[macro_export]
macro_rules! __model_test {
    ($name:ident ($factory:expr) $kit:ident $check:ident) => {
        #[test]
        fn $name() {
            let ::core::option::Option::Some(factory) = $factory else {
                return;
            };
            $crate::$kit::$check(&factory, $crate::store::ModelOptions::default());
        }
    };
}

/// Expands to the session suite through each of the three adapters over the stores of a
/// [`StoreFactory`](store::StoreFactory) (modules `pool`, `simple_cache`, `doctrine`), and the
/// property test [`session::check_sessions_agree`], which requires the three to give the same
/// results as a model at every step. Forms as for [`store_suite!`].
#[macro_export]
macro_rules! session_suites {
    (if_configured: $factory:expr $(, without: $lacks:tt)? $(,)?) => {
        mod pool {
            #[allow(unused_imports)]
            use super::*;
            $crate::session_suite!(if_configured: ($factory).map(|f| $crate::session::SessionsOver::new(f, $crate::session::Adapter::Pool)) $(, without: $lacks)?);
        }
        mod simple_cache {
            #[allow(unused_imports)]
            use super::*;
            $crate::session_suite!(if_configured: ($factory).map(|f| $crate::session::SessionsOver::new(f, $crate::session::Adapter::SimpleCache)) $(, without: $lacks)?);
        }
        mod doctrine {
            #[allow(unused_imports)]
            use super::*;
            $crate::session_suite!(if_configured: ($factory).map(|f| $crate::session::SessionsOver::new(f, $crate::session::Adapter::Doctrine)) $(, without: $lacks)?);
        }

        #[test]
        fn session_adapters_agree_property() {
            let ::core::option::Option::Some(factory) = $factory else {
                return;
            };
            $crate::session::check_sessions_agree(factory, $crate::store::ModelOptions::default());
        }
    };
    ($factory:expr $(, without: $lacks:tt)? $(,)?) => {
        $crate::session_suites!(if_configured: ::core::option::Option::Some($factory) $(, without: $lacks)?);
    };
}

/// Expands to every kit over one store backend: `store`, `pool` (PSR-6 `Pool` over it),
/// `simple` (PSR-16 `Cache` over it), `doctrine` (`CacheProvider` over it) and `session`
/// (the session suites through the three adapters, see [`session_suites!`]), each a module of
/// tests. The forms are those of [`store_suite!`], `without` included; the factory expression
/// is evaluated afresh in each test.
#[macro_export]
macro_rules! backend_suites {
    (if_configured: $factory:expr $(, without: $lacks:tt)? $(,)?) => {
        mod store {
            #[allow(unused_imports)]
            use super::*;
            $crate::store_suite!(if_configured: $factory $(, without: $lacks)?);
        }
        mod pool {
            #[allow(unused_imports)]
            use super::*;
            $crate::pool_suite!(if_configured: ($factory).map($crate::over_store::PoolsOver) $(, without: $lacks)?);
        }
        mod simple {
            #[allow(unused_imports)]
            use super::*;
            $crate::simple_suite!(if_configured: ($factory).map($crate::over_store::SimpleCachesOver) $(, without: $lacks)?);
        }
        mod doctrine {
            #[allow(unused_imports)]
            use super::*;
            $crate::doctrine_suite!(if_configured: ($factory).map($crate::over_store::DoctrinesOver) $(, without: $lacks)?);
        }
        mod session {
            #[allow(unused_imports)]
            use super::*;
            $crate::session_suites!(if_configured: $factory $(, without: $lacks)?);
        }
        mod beyond {
            #[allow(unused_imports)]
            use super::*;
            $crate::beyond_suite!(if_configured: $factory $(, without: $lacks)?);
        }
    };
    ($factory:expr $(, without: $lacks:tt)? $(,)?) => {
        $crate::backend_suites!(if_configured: ::core::option::Option::Some($factory) $(, without: $lacks)?);
    };
}

/// Expands to the equivalence property test ([`equivalence::check_equivalence`]) of all eight
/// combinations (PSR-16, PSR-16 over PSR-6, PSR-6, PSR-6 over PSR-16, Doctrine over PSR-6, PSR-6
/// over Doctrine, tag-aware PSR-6, PSR-16 over tag-aware PSR-6) over one store factory, 256 sequences each. The forms are those of
/// [`store_suite!`].
#[macro_export]
macro_rules! equivalence_suite {
    (if_configured: $factory:expr) => {
        $crate::__equivalence_tests! { ($factory);
            equivalence_simple_cache => SimpleCache,
            equivalence_simple_cache_over_pool => SimpleCacheOverPool,
            equivalence_pool => Pool,
            equivalence_pool_over_simple_cache => PoolOverSimpleCache,
            equivalence_doctrine_over_pool => DoctrineOverPool,
            equivalence_pool_over_doctrine => PoolOverDoctrine,
            equivalence_tag_aware_pool => TagAwarePool,
            equivalence_simple_cache_over_tag_aware_pool => SimpleCacheOverTagAwarePool,
        }
    };
    ($factory:expr) => {
        $crate::equivalence_suite!(if_configured: ::core::option::Option::Some($factory));
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __equivalence_tests {
    (($factory:expr); $($name:ident => $combination:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let ::core::option::Option::Some(factory) = $factory else {
                    return;
                };
                $crate::equivalence::check_equivalence(
                    &factory,
                    $crate::equivalence::Combination::$combination,
                    $crate::store::ModelOptions::default(),
                );
            }
        )*
    };
}
