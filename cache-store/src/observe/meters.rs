//! The `metrics` handles of one observed store, registered once.

use std::time::Duration;

use metrics::{Counter, Histogram, Label};

use super::store::Operation;
use crate::error::ErrorKind;

pub(super) struct Meters {
    hits: Counter,
    misses: Counter,
    writes: Counter,
    /// One per [`Operation::ALL`], in its order.
    seconds: Vec<Histogram>,
    /// One per [`KINDS`], in its order.
    errors: Vec<Counter>,
}

/// Every error kind, as the `kind` label names it.
const KINDS: [ErrorKind; 9] = [
    ErrorKind::InvalidKey,
    ErrorKind::InvalidArgument,
    ErrorKind::Unavailable,
    ErrorKind::Timeout,
    ErrorKind::TooLarge,
    ErrorKind::Decode,
    ErrorKind::Unsupported,
    ErrorKind::Compute,
    ErrorKind::Locked,
];

/// The place of `kind` in [`KINDS`] (a match without a wildcard, so a new kind fails to
/// compile here until it is listed).
fn kind_index(kind: ErrorKind) -> usize {
    match kind {
        ErrorKind::InvalidKey => 0,
        ErrorKind::InvalidArgument => 1,
        ErrorKind::Unavailable => 2,
        ErrorKind::Timeout => 3,
        ErrorKind::TooLarge => 4,
        ErrorKind::Decode => 5,
        ErrorKind::Unsupported => 6,
        ErrorKind::Compute => 7,
        ErrorKind::Locked => 8,
    }
}

impl Meters {
    pub(super) fn new(backend: &'static str, namespace: &str) -> Self {
        let labels = [
            Label::new("backend", backend),
            Label::new("namespace", namespace.to_owned()),
        ];
        let seconds = Operation::ALL
            .iter()
            .map(|operation| {
                let mut with_operation = labels.to_vec();
                with_operation.push(Label::new("operation", operation.name()));
                metrics::histogram!("cache_operation_seconds", with_operation)
            })
            .collect();
        let errors = KINDS
            .iter()
            .map(|kind| {
                let mut with_kind = labels.to_vec();
                with_kind.push(Label::new("kind", format!("{kind:?}")));
                metrics::counter!("cache_errors_total", with_kind)
            })
            .collect();
        Meters {
            hits: metrics::counter!("cache_hits_total", labels.to_vec()),
            misses: metrics::counter!("cache_misses_total", labels.to_vec()),
            writes: metrics::counter!("cache_writes_total", labels.to_vec()),
            seconds,
            errors,
        }
    }

    pub(super) fn reads(&self, hits: usize, misses: usize) {
        self.hits.increment(hits as u64);
        self.misses.increment(misses as u64);
    }

    pub(super) fn writes(&self, entries: usize) {
        self.writes.increment(entries as u64);
    }

    pub(super) fn took(&self, operation: Operation, took: Duration) {
        // `Operation::ALL` lists the operations in their declaration order.
        self.seconds[operation as usize].record(took.as_secs_f64());
    }

    pub(super) fn error(&self, kind: ErrorKind) {
        self.errors[kind_index(kind)].increment(1);
    }
}
