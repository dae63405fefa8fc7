//! What a case needs from a factory, and how a backend says it lacks it.
//!
//! Most cases run on any backend. A few need something that not every factory can give; a
//! suite invocation names what its backend lacks, and each case that needs it is then
//! reported by `cargo test` as **ignored**, with the reason, instead of running:
//!
//! ```text
//! cache_testkit::backend_suites!(if_configured: RedisFactory::from_env("CACHE_TEST_REDIS_URL"),
//!     without: [clock]);
//! ```
//!
//! ```text
//! test store::entries_expire_exactly_at_their_deadline ... ignored, needs a clock the kit can move: the backend keeps its own time
//! ```
//!
//! The names a `without: [...]` list takes:
//!
//! | name | what the backend lacks | the factory hook that gives it |
//! |---|---|---|
//! | `clock` | a clock the kit can move (a server keeps its own time) | `clock()` |
//! | `data` | keeping data at all (a store like [`NullStore`](cache_store::NullStore)) | `StoreFactory::model` |
//! | `foreign_data` | holding data that is not a value (a Redis list) | `StoreFactory::write_foreign`, `write_unreadable(Unreadable::Foreign)` |
//! | `damaged_bytes` | a way to put damaged bytes under the factory's caches | `write_unreadable(Unreadable::Bytes)` |
//! | `pool` | a PSR-6 pool under the Doctrine caches the kit can write through | `DoctrineFactory::pool` |
//!
//! A case that finds a need missing which the invocation did not declare fails, naming the
//! entry to add: a case never passes without having run.
//!
//! Each case declares its needs where it is written, by calling `needs_<name>(...)` (directly
//! or through a helper of its file); the kit's build script reads them from there.

use cache_store::ManualClock;

/// What a case can need, by the name a `without: [...]` list takes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Capability {
    Clock,
    Data,
    ForeignData,
    DamagedBytes,
    Pool,
}

impl Capability {
    /// The name in a `without: [...]` list.
    fn name(self) -> &'static str {
        match self {
            Capability::Clock => "clock",
            Capability::Data => "data",
            Capability::ForeignData => "foreign_data",
            Capability::DamagedBytes => "damaged_bytes",
            Capability::Pool => "pool",
        }
    }

    /// What a factory without it lacks, in the words of the table above.
    fn lacking(self) -> &'static str {
        match self {
            Capability::Clock => "a clock the kit can move (its clock() is None)",
            Capability::Data => "a store that keeps data (its model() is Model::Null)",
            Capability::ForeignData => {
                "a way to write data that is not a value (its write hook answered false)"
            }
            Capability::DamagedBytes => {
                "a way to write damaged bytes under its caches (write_unreadable answered false)"
            }
            Capability::Pool => "the PSR-6 pool under its Doctrine caches (its pool() is None)",
        }
    }
}

/// Fails the running case: it needs `capability`, which the factory lacks and the suite
/// invocation did not declare.
pub(crate) fn undeclared(capability: Capability) -> ! {
    let name = capability.name();
    panic!(
        "this case needs `{name}`, and the factory lacks {}: add `{name}` to the suite's \
         `without: [...]` list, and every case that needs it is reported as ignored",
        capability.lacking()
    )
}

/// The factory's clock, which the case needs.
pub(crate) fn clock(clock: Option<ManualClock>) -> ManualClock {
    clock.unwrap_or_else(|| undeclared(Capability::Clock))
}

/// Fails the case unless the factory's hook `written` put the data the case needs.
pub(crate) fn written(capability: Capability, written: bool) {
    if !written {
        undeclared(capability);
    }
}
