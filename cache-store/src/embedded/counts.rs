//! Hits and misses of an embedded cache, counted in stripes: threads reading at once each
//! count on a cache line of their own instead of fighting over one.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

const STRIPES: usize = 8;

/// One stripe, alone on its cache lines.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Stripe {
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Lookups that found a live entry, and lookups that did not.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    stripes: [Stripe; STRIPES],
}

thread_local! {
    /// This thread's stripe, handed out round robin on first use.
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    STRIPE.with(|stripe| {
        if stripe.get() == usize::MAX {
            stripe.set(NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES);
        }
        stripe.get()
    })
}

impl Counts {
    /// Counts one lookup.
    pub(crate) fn lookup(&self, hit: bool) {
        let stripe = &self.stripes[stripe()];
        // Relaxed: statistics, read on their own.
        if hit {
            stripe.hits.fetch_add(1, Ordering::Relaxed);
        } else {
            stripe.misses.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Hits and misses so far.
    pub(crate) fn totals(&self) -> (u64, u64) {
        self.stripes.iter().fold((0, 0), |(hits, misses), s| {
            (
                hits + s.hits.load(Ordering::Relaxed),
                misses + s.misses.load(Ordering::Relaxed),
            )
        })
    }
}
