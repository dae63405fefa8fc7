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
//!   operations through six combinations over any store, checked against one model; invoke
//!   [`equivalence_suite!`].
//! - [`session`]: session handlers: the contract of PHP's handler interfaces (unknown ids,
//!   lifetimes, malformed ids, strict mode, locking under real concurrency), and a property
//!   test that the PSR-6, PSR-16 and Doctrine adapters give identical results. Implement
//!   [`SessionFactory`](session::SessionFactory) and invoke [`session_suite!`], or invoke
//!   [`session_suites!`] with a store factory.
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
//! and one line, `cache_testkit::backend_suites!(BTreeFactory::new())`, which runs the Store
//! contract and the PSR-6, PSR-16 and Doctrine kits over it. A backend that keeps its own time
//! (a server) returns no clock from its factory, and the cases that need to move time are
//! skipped with the reason printed. `cache-testkit/tests/kit_catches_broken_stores.rs` shows
//! the kit failing on six deliberately broken variants.
#![deny(missing_docs)]

pub mod doctrine;
mod env;
pub mod equivalence;
pub mod lifetimes;
#[cfg(feature = "memcached")]
pub mod memcached;
#[cfg(feature = "moka")]
pub mod moka;
pub mod over_store;
pub mod pool;
mod private_server;
#[cfg(feature = "redis")]
pub mod redis;
mod sequences;
pub mod session;
pub mod simple;
pub mod store;
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

/// Expands to the whole `Store` suite: one `#[test]` per case of
/// [`store::cases`] and the property test [`store::check_model`].
///
/// - `store_suite!(factory_expr)`: `factory_expr` is evaluated afresh in each test and must
///   give a [`StoreFactory`](store::StoreFactory).
/// - `store_suite!(if_configured: option_expr)`: gives an `Option` of a factory; `None` skips
///   the test (for servers that are not configured; see [`server_url`]).
///
/// Invoke it once per module; wrap it in `mod name { ... }` to run it over several factories
/// in one file.
#[macro_export]
macro_rules! store_suite {
    (if_configured: $factory:expr) => {
        $crate::__suite_tests! { store; check_model; store_contract_model_property; ($factory);
            get_of_a_missing_key_is_none,
            set_then_get_returns_the_exact_bytes,
            set_overwrites_the_previous_value,
            awkward_keys_round_trip_without_colliding,
            get_many_is_aligned_with_its_input,
            set_many_writes_each_entry_with_its_own_expiration,
            set_many_later_duplicate_wins,
            an_expired_write_deletes_the_key,
            deleting_a_missing_key_succeeds,
            delete_many_removes_every_key,
            contains_reflects_presence,
            add_writes_only_when_absent,
            concurrent_adds_have_exactly_one_winner,
            touch_answers_whether_the_key_was_live,
            touch_with_an_expired_expiration_deletes,
            clear_empties_only_its_namespace,
            clear_is_seen_by_every_handle_of_the_namespace,
            handles_of_one_namespace_share_data,
            entries_expire_exactly_at_their_deadline,
            resaving_replaces_the_deadline,
            touch_moves_the_deadline,
            add_succeeds_once_the_entry_expired,
            empty_batches_are_no_ops,
            large_values_round_trip,
            far_lifetimes_are_kept_by_every_write,
            no_entry_is_a_miss_before_its_deadline,
            foreign_data_reads_the_same_from_every_read,
            stats_and_namespace_are_reported,
            null_store_keeps_nothing,
        }
    };
    ($factory:expr) => {
        $crate::store_suite!(if_configured: ::core::option::Option::Some($factory));
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __suite_tests {
    ($kit:ident; $model:ident; $model_test:ident; ($factory:expr); $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let ::core::option::Option::Some(factory) = $factory else {
                    return;
                };
                $crate::block_on($crate::$kit::cases::$case(&factory));
            }
        )*

        #[test]
        fn $model_test() {
            let ::core::option::Option::Some(factory) = $factory else {
                return;
            };
            $crate::$kit::$model(&factory, $crate::store::ModelOptions::default());
        }
    };
}

/// Expands to the whole PSR-6 suite: one `#[test]` per case of [`pool::cases`] and the
/// property test [`pool::check_pool_model`]. The forms are those of [`store_suite!`].
#[macro_export]
macro_rules! pool_suite {
    (if_configured: $factory:expr) => {
        $crate::__suite_tests! { pool; check_pool_model; pool_contract_model_property; ($factory);
            basic_usage,
            basic_usage_with_long_key,
            get_item,
            get_items,
            get_items_empty_and_duplicates,
            has_item,
            clear,
            clear_with_deferred_items,
            delete_item,
            delete_items,
            save_now,
            save_expired,
            save_without_expire,
            deferred_save,
            deferred_expired,
            delete_deferred_item,
            deferred_save_without_commit,
            commit,
            expiration,
            expires_at_and_null_expiries,
            key_length,
            invalid_keys_are_refused_before_any_io,
            data_types_round_trip_exactly,
            binary_data,
            is_hit_and_is_hit_deferred,
            save_deferred_when_changing_values,
            save_deferred_overwrite,
            has_item_is_false_for_an_expired_deferred_item,
            a_deferred_items_relative_lifetime_starts_at_its_commit,
            get_computes_once_and_honours_beta,
            concurrent_gets_compute_once,
            get_shares_errors_and_does_not_cache_them,
            recursive_get,
            dont_save_when_asked_not_to,
            save_values_is_deferred_saves_and_a_commit,
            get_value_answers_like_get_item,
            get_values_answers_like_get_items,
            get_records_metadata,
            default_lifetime,
            short_and_very_long_lifetimes,
            sub_second_lifetimes_are_kept,
            undecodable_values_are_misses,
            data_that_looks_like_metadata_round_trips,
            null_byte_in_key,
            numeric_keys,
            unreadable_data_reads_the_same_from_every_read,
            a_refused_or_far_item_never_blocks_the_pool,
        }
    };
    ($factory:expr) => {
        $crate::pool_suite!(if_configured: ::core::option::Option::Some($factory));
    };
}

/// Expands to the whole PSR-16 suite: one `#[test]` per case of [`simple::cases`] and the
/// property test [`simple::check_simple_model`]. The forms are those of [`store_suite!`].
#[macro_export]
macro_rules! simple_suite {
    (if_configured: $factory:expr) => {
        $crate::__suite_tests! { simple; check_simple_model; simple_contract_model_property; ($factory);
            set_then_get,
            set_ttl,
            set_expired_ttl,
            get_with_default,
            delete,
            clear,
            set_multiple,
            set_multiple_ttl,
            set_multiple_expired_ttl,
            get_multiple,
            delete_multiple,
            has,
            basic_usage_with_long_key,
            invalid_keys_are_refused_before_any_io,
            null_overwrite,
            data_types_round_trip_exactly,
            binary_data,
            valid_keys,
            default_lifetime,
            undecodable_values_are_misses,
            unreadable_data_reads_the_same_from_every_read,
            far_lifetimes_are_kept,
        }
    };
    ($factory:expr) => {
        $crate::simple_suite!(if_configured: ::core::option::Option::Some($factory));
    };
}

/// Expands to the whole Doctrine suite: one `#[test]` per case of [`doctrine::cases`] and the
/// property test [`doctrine::check_doctrine_model`]. The forms are those of [`store_suite!`].
#[macro_export]
macro_rules! doctrine_suite {
    (if_configured: $factory:expr) => {
        $crate::__suite_tests! { doctrine; check_doctrine_model; doctrine_contract_model_property; ($factory);
            set_contains_fetch_delete,
            update_existing_entry,
            cache_key_is_case_sensitive,
            fetch_multiple,
            save_multiple,
            delete_of_an_absent_id_succeeds,
            delete_all,
            delete_multiple,
            special_cache_ids,
            no_cache_id_collisions,
            lifetime,
            sub_second_lifetime_is_not_forever,
            zero_lifetime_never_expires,
            long_lifetime,
            delete_all_and_versioning_between_instances,
            flush_all,
            flush_all_and_versioning_between_instances,
            namespaces_are_isolated,
            delete_all_touches_only_its_namespace,
            stats,
            save_with_and_without_lifetime,
            far_lifetimes_are_kept,
            damaged_namespace_versions_never_bring_old_entries_back,
            delete_all_at_phps_largest_version_goes_on,
        }
    };
    ($factory:expr) => {
        $crate::doctrine_suite!(if_configured: ::core::option::Option::Some($factory));
    };
}

/// Expands to the session suite: one `#[test]` per case of [`session::cases`] over a
/// [`SessionFactory`](session::SessionFactory). Forms as for [`store_suite!`].
#[macro_export]
macro_rules! session_suite {
    (if_configured: $factory:expr) => {
        $crate::__session_cases! { ($factory);
            open_close_and_gc_succeed,
            read_of_an_unknown_id_is_empty,
            write_then_read_returns_the_data,
            requests_share_sessions_by_id,
            destroy_succeeds_whether_or_not_the_session_exists,
            created_ids_are_distinct_url_safe_and_long_enough,
            malformed_ids_are_refused,
            strict_mode_accepts_only_known_ids,
            every_write_sets_the_max_lifetime,
            update_timestamp_restarts_the_lifetime_without_rewriting,
            update_timestamp_of_a_vanished_session_writes_it,
            write_with_lifetime_uses_it_and_zero_deletes,
            create_writes_only_a_new_session,
            prefixes_keep_applications_apart,
            without_locking_reads_do_not_wait,
            a_held_lock_blocks_other_requests_until_close,
            destroy_releases_the_lock,
            a_dropped_request_releases_its_lock,
            an_expired_lock_is_taken_over_and_owner_checked,
            concurrent_requests_with_locking_lose_no_write,
            a_far_lifetime_is_kept,
        }
    };
    ($factory:expr) => {
        $crate::session_suite!(if_configured: ::core::option::Option::Some($factory));
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __session_cases {
    (($factory:expr); $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let ::core::option::Option::Some(factory) = $factory else {
                    return;
                };
                $crate::block_on($crate::session::cases::$case(&factory));
            }
        )*
    };
}

/// Expands to the session suite through each of the three adapters over the stores of a
/// [`StoreFactory`](store::StoreFactory) (modules `pool`, `simple_cache`, `doctrine`), and the
/// property test [`session::check_sessions_agree`], which requires the three to give the same
/// results as a model at every step. Forms as for [`store_suite!`].
#[macro_export]
macro_rules! session_suites {
    (if_configured: $factory:expr) => {
        mod pool {
            #[allow(unused_imports)]
            use super::*;
            $crate::session_suite!(if_configured: ($factory).map(|f| $crate::session::SessionsOver::new(f, $crate::session::Adapter::Pool)));
        }
        mod simple_cache {
            #[allow(unused_imports)]
            use super::*;
            $crate::session_suite!(if_configured: ($factory).map(|f| $crate::session::SessionsOver::new(f, $crate::session::Adapter::SimpleCache)));
        }
        mod doctrine {
            #[allow(unused_imports)]
            use super::*;
            $crate::session_suite!(if_configured: ($factory).map(|f| $crate::session::SessionsOver::new(f, $crate::session::Adapter::Doctrine)));
        }

        #[test]
        fn session_adapters_agree_property() {
            let ::core::option::Option::Some(factory) = $factory else {
                return;
            };
            $crate::session::check_sessions_agree(factory, $crate::store::ModelOptions::default());
        }
    };
    ($factory:expr) => {
        $crate::session_suites!(if_configured: ::core::option::Option::Some($factory));
    };
}

/// Expands to every kit over one store backend: `store`, `pool` (PSR-6 `Pool` over it),
/// `simple` (PSR-16 `Cache` over it), `doctrine` (`CacheProvider` over it) and `session`
/// (the session suites through the three adapters, see [`session_suites!`]), each a module of
/// tests. The forms are those of [`store_suite!`]; the factory expression is evaluated afresh
/// in each test.
#[macro_export]
macro_rules! backend_suites {
    (if_configured: $factory:expr) => {
        mod store {
            #[allow(unused_imports)]
            use super::*;
            $crate::store_suite!(if_configured: $factory);
        }
        mod pool {
            #[allow(unused_imports)]
            use super::*;
            $crate::pool_suite!(if_configured: ($factory).map($crate::over_store::PoolsOver));
        }
        mod simple {
            #[allow(unused_imports)]
            use super::*;
            $crate::simple_suite!(if_configured: ($factory).map($crate::over_store::SimpleCachesOver));
        }
        mod doctrine {
            #[allow(unused_imports)]
            use super::*;
            $crate::doctrine_suite!(if_configured: ($factory).map($crate::over_store::DoctrinesOver));
        }
        mod session {
            #[allow(unused_imports)]
            use super::*;
            $crate::session_suites!(if_configured: $factory);
        }
    };
    ($factory:expr) => {
        $crate::backend_suites!(if_configured: ::core::option::Option::Some($factory));
    };
}

/// Expands to the equivalence property test ([`equivalence::check_equivalence`]) of all six
/// combinations (PSR-16, PSR-16 over PSR-6, PSR-6, PSR-6 over PSR-16, Doctrine over PSR-6, PSR-6
/// over Doctrine) over one store factory, 256 sequences each. The forms are those of
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
