//! The tower-sessions store over the session handlers, on moka.

use std::sync::Arc;
use std::time::Duration;

use cache_store::ManualClock;
use cache_store::moka::MokaStore;
use session_bridge::tower_sessions_core::SessionStore;
use session_bridge::tower_sessions_core::session::{Id, Record};
use session_bridge::tower_sessions_core::session_store::Error as StoreError;
use session_bridge::{
    CacheSessionHandler, LockOptions, SessionHandler, SessionOptions, TowerSessionStore,
};
use simple_cache::Cache;

type Handler = Arc<dyn SessionHandler>;

fn handler(clock: &ManualClock) -> Handler {
    let store = MokaStore::builder()
        .clock(clock.clone())
        .build()
        .expect("moka store");
    Arc::new(CacheSessionHandler::new(
        Arc::new(Cache::new(store)),
        SessionOptions::new(),
    ))
}

fn record(expires_in: time::Duration) -> Record {
    Record {
        id: Id::default(),
        data: [
            ("user".to_owned(), serde_json::json!("alice")),
            (
                "cart".to_owned(),
                serde_json::json!({"items": [1, 2, 3], "total": 9.5}),
            ),
        ]
        .into(),
        expiry_date: time::OffsetDateTime::now_utc() + expires_in,
    }
}

#[tokio::test]
async fn records_round_trip_and_delete() {
    let handler = handler(&ManualClock::starting_now());
    let store = TowerSessionStore::new(Arc::clone(&handler)).unwrap();
    let mut rec = record(time::Duration::hours(1));
    store.create(&mut rec).await.unwrap();
    assert_eq!(store.load(&rec.id).await.unwrap(), Some(rec.clone()));
    rec.data.insert("visits".to_owned(), 3.into());
    store.save(&rec).await.unwrap();
    assert_eq!(store.load(&rec.id).await.unwrap(), Some(rec.clone()));
    store.delete(&rec.id).await.unwrap();
    assert_eq!(store.load(&rec.id).await.unwrap(), None);
    store.delete(&rec.id).await.unwrap();
}

#[tokio::test]
async fn create_draws_a_new_id_when_the_id_is_taken() {
    let handler = handler(&ManualClock::starting_now());
    let store = TowerSessionStore::new(Arc::clone(&handler)).unwrap();
    let mut rec = record(time::Duration::hours(1));
    let taken = rec.id;
    handler
        .write(&taken.to_string(), "someone else's".into())
        .await
        .unwrap();
    store.create(&mut rec).await.unwrap();
    assert_ne!(rec.id, taken, "create overwrote an existing session");
    assert_eq!(
        &handler.read(&taken.to_string()).await.unwrap()[..],
        b"someone else's"
    );
    assert_eq!(store.load(&rec.id).await.unwrap(), Some(rec));
}

#[tokio::test]
async fn the_record_expiry_is_the_stored_lifetime() {
    let clock = ManualClock::starting_now();
    let store = TowerSessionStore::new(handler(&clock)).unwrap();
    let mut rec = record(time::Duration::seconds(60));
    store.create(&mut rec).await.unwrap();
    clock.advance(Duration::from_secs(58));
    assert!(store.load(&rec.id).await.unwrap().is_some());
    clock.advance(Duration::from_secs(3));
    assert_eq!(store.load(&rec.id).await.unwrap(), None);

    // Saving a record whose expiry has passed deletes it.
    let mut live = record(time::Duration::hours(1));
    store.create(&mut live).await.unwrap();
    live.expiry_date = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    store.save(&live).await.unwrap();
    assert_eq!(store.load(&live.id).await.unwrap(), None);
}

#[tokio::test]
async fn foreign_bytes_load_as_a_decode_error_not_a_wrong_session() {
    let handler = handler(&ManualClock::starting_now());
    let store = TowerSessionStore::new(Arc::clone(&handler)).unwrap();
    let id = Id::default();
    handler
        .write(&id.to_string(), "user|s:5:\"alice\";".into())
        .await
        .unwrap();
    assert!(matches!(store.load(&id).await, Err(StoreError::Decode(_))));
}

#[tokio::test]
async fn a_locking_handler_is_refused() {
    let store = MokaStore::builder().build().unwrap();
    let options = SessionOptions::new()
        .with_locking(LockOptions::default())
        .unwrap();
    let handler = CacheSessionHandler::new(Arc::new(Cache::new(store)), options);
    let err = TowerSessionStore::new(handler).unwrap_err();
    assert_eq!(err.kind(), cache_store::ErrorKind::InvalidArgument);
}
