//! What an `Observed` store shows: the fields of its spans, read by a recording subscriber,
//! and its counters and histograms, read by a recording metrics recorder, for a hit, a miss,
//! a write and an error.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use cache_store::memory::MemoryStore;
use cache_store::{ErrorKind, Expiration, Key, Observed, Store};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::Registry;

/// A span's fields by name, as text.
type Fields = BTreeMap<String, String>;

/// Every span opened, in order (with its id), with the fields it was given or recorded later.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<(u64, Fields)>>>);

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        fields.insert("name".to_owned(), attrs.metadata().name().to_owned());
        attrs.record(&mut Visitor(&mut fields));
        self.0
            .lock()
            .expect("not poisoned")
            .push((id.into_u64(), fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut spans = self.0.lock().expect("not poisoned");
        // Ids are reused after a span closes: the latest span with this id is the open one.
        if let Some((_, fields)) = spans.iter_mut().rev().find(|(i, _)| *i == id.into_u64()) {
            values.record(&mut Visitor(fields));
        }
    }
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn spans_and_metrics_show_a_hit_a_miss_a_write_and_an_error() {
    let spans = Spans::default();
    let subscriber = Registry::default().with(spans.clone());
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    tracing::subscriber::with_default(subscriber, || {
        metrics::with_local_recorder(&recorder, || {
            let store = Observed::new(
                MemoryStore::builder()
                    .max_capacity_bytes(64 * 1024)
                    .namespace("app")
                    .build()
                    .unwrap(),
            );
            runtime.block_on(async {
                let (key, absent) = (Key::new("user.42").unwrap(), Key::new("nobody").unwrap());
                store
                    .set(key, "ada".into(), Expiration::Never)
                    .await
                    .unwrap();
                assert!(store.get(key).await.unwrap().is_some());
                assert_eq!(store.get(absent).await.unwrap(), None);
                let too_large = vec![0u8; 1024 * 1024];
                let err = store
                    .set(absent, too_large.into(), Expiration::Never)
                    .await
                    .unwrap_err();
                assert_eq!(err.kind(), ErrorKind::TooLarge);
                let values = store.get_many(&[key, absent, key]).await.unwrap();
                assert_eq!(values.len(), 3);
                let stats = store.stats().await.unwrap();
                assert_eq!((stats.hits, stats.misses), (Some(3), Some(2)));
            });
        });
    });

    let base = [
        ("name", "cache"),
        ("backend", "memory"),
        ("namespace", "app"),
    ];
    let with = |more: &[(&str, &str)]| {
        let mut all = fields(&base);
        all.extend(fields(more));
        all
    };
    let seen: Vec<BTreeMap<String, String>> = spans
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(_, f)| f.clone())
        .collect();
    assert_eq!(
        seen,
        vec![
            with(&[("operation", "set"), ("keys", "1")]),
            with(&[("operation", "get"), ("keys", "1"), ("hits", "1")]),
            with(&[("operation", "get"), ("keys", "1"), ("hits", "0")]),
            with(&[("operation", "set"), ("keys", "1"), ("error", "TooLarge")]),
            with(&[("operation", "get_many"), ("keys", "3"), ("hits", "2")]),
            with(&[("operation", "stats"), ("keys", "0")]),
        ]
    );

    let mut counters = BTreeMap::new();
    let mut timed = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let (kind, key) = key.into_parts();
        let _ = kind;
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        assert!(
            labels.contains(&"backend=memory".to_owned())
                && labels.contains(&"namespace=app".to_owned()),
            "{labels:?}"
        );
        let name = format!("{} {}", key.name(), labels.join(","));
        match value {
            DebugValue::Counter(n) if n > 0 => {
                counters.insert(name, n);
            }
            DebugValue::Histogram(samples) if !samples.is_empty() => {
                timed.insert(name, samples.len());
            }
            _ => {}
        }
    }
    assert_eq!(
        counters,
        BTreeMap::from([
            (
                "cache_hits_total backend=memory,namespace=app".to_owned(),
                3
            ),
            (
                "cache_misses_total backend=memory,namespace=app".to_owned(),
                2
            ),
            (
                "cache_writes_total backend=memory,namespace=app".to_owned(),
                1
            ),
            (
                "cache_errors_total backend=memory,kind=TooLarge,namespace=app".to_owned(),
                1
            ),
        ])
    );
    assert_eq!(
        timed,
        BTreeMap::from([
            (
                "cache_operation_seconds backend=memory,namespace=app,operation=get".to_owned(),
                2
            ),
            (
                "cache_operation_seconds backend=memory,namespace=app,operation=get_many"
                    .to_owned(),
                1
            ),
            (
                "cache_operation_seconds backend=memory,namespace=app,operation=set".to_owned(),
                2
            ),
            (
                "cache_operation_seconds backend=memory,namespace=app,operation=stats".to_owned(),
                1
            ),
        ])
    );
}
