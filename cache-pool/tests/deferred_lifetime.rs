//! When the lifetime of a deferred item starts: `Expiration::After` and the pool's default
//! lifetime count from the commit that writes the item; PSR-6's `expires_after` fixes its
//! instant when it is called.

use std::time::Duration;

use cache_pool::{CacheItem, CacheItemPool, Pool};
use cache_store::moka::MokaStore;
use cache_store::{Expiration, ManualClock};

fn pool_on(clock: &ManualClock, default_lifetime: Option<Duration>) -> Pool<MokaStore> {
    let store = MokaStore::builder()
        .clock(clock.clone())
        .build()
        .expect("moka store");
    match default_lifetime {
        Some(lifetime) => Pool::builder(store).default_lifetime(lifetime).build(),
        None => Pool::new(store),
    }
}

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_relative_lifetime_starts_at_the_commit() {
    let clock = ManualClock::starting_now();
    let pool = pool_on(&clock, None);
    let mut item = CacheItem::new("k").unwrap();
    item.set("v").expires(Expiration::After(10 * SECOND));
    pool.save_deferred(item).unwrap();

    clock.advance(60 * SECOND);
    assert!(
        pool.get_item("k").await.unwrap().is_hit(),
        "live while queued"
    );
    pool.commit().await.unwrap();
    clock.advance(9 * SECOND);
    assert!(pool.has_item("k").await.unwrap(), "10 s from the commit");
    clock.advance(2 * SECOND);
    assert!(!pool.has_item("k").await.unwrap());
}

#[tokio::test]
async fn the_default_lifetime_starts_at_the_commit() {
    let clock = ManualClock::starting_now();
    let pool = pool_on(&clock, Some(10 * SECOND));
    let mut item = CacheItem::new("k").unwrap();
    item.set("v");
    pool.save_deferred(item).unwrap();

    clock.advance(60 * SECOND);
    pool.commit().await.unwrap();
    clock.advance(9 * SECOND);
    assert!(pool.has_item("k").await.unwrap());
    clock.advance(2 * SECOND);
    assert!(!pool.has_item("k").await.unwrap());
}

#[tokio::test]
async fn expires_after_counts_from_its_call_even_when_deferred() {
    let clock = ManualClock::starting_now();
    let pool = pool_on(&clock, None);
    let mut item = pool.get_item("k").await.unwrap();
    item.set("v").expires_after(Some(10 * SECOND));
    pool.save_deferred(item).unwrap();

    clock.advance(11 * SECOND);
    assert!(!pool.has_item("k").await.unwrap(), "expired while queued");
    pool.commit().await.unwrap();
    assert!(!pool.has_item("k").await.unwrap());
}

#[tokio::test]
async fn a_zero_lifetime_is_expired_while_queued() {
    let clock = ManualClock::starting_now();
    let pool = pool_on(&clock, None);
    let mut stored = CacheItem::new("k").unwrap();
    stored.set("old");
    pool.save(stored).await.unwrap();
    let mut item = CacheItem::new("k").unwrap();
    item.set("v").expires(Expiration::After(Duration::ZERO));
    pool.save_deferred(item).unwrap();

    assert!(
        !pool.has_item("k").await.unwrap(),
        "the stored value must not show"
    );
    pool.commit().await.unwrap();
    assert!(!pool.has_item("k").await.unwrap());
}
