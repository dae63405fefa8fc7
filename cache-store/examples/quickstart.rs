//! The quick start: a cache on the embedded moka backend, no server needed.
//!
//!     cargo run --example quickstart
//!
//! Swap the URL for another backend's and nothing else changes.

use std::time::Duration;

use cache_store::codec::{Codec, MsgPack};
use cache_store::{Expiration, Key, Store};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), cache_store::Error> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "moka://?capacity=64MiB&namespace=quickstart".to_owned());
    let store = cache_store::open(&url).await?;
    println!("opened {url} (namespace {:?})", store.namespace());

    // Bytes in, bytes out, with a lifetime.
    let greeting = Key::new("greeting")?;
    store
        .set(
            greeting,
            "hello".into(),
            Expiration::After(Duration::from_secs(60)),
        )
        .await?;
    let value = store.get(greeting).await?;
    println!(
        "set greeting = \"hello\" for 60 s; get greeting -> {:?}",
        value.as_deref().map(String::from_utf8_lossy)
    );

    // Typed values through a codec (MessagePack by default).
    let user = User {
        id: 42,
        name: "Ada".into(),
    };
    let key = Key::new("user.42")?;
    store
        .set(key, MsgPack.encode(&user)?, Expiration::Never)
        .await?;
    if let Some(bytes) = store.get(key).await? {
        let back: User = MsgPack.decode(&bytes)?;
        println!("stored {user:?}; read back {back:?}");
    }

    // One call for many keys; misses come back as None, in order.
    let keys = [greeting, key, Key::new("missing")?];
    let found = store.get_many(&keys).await?;
    for (key, value) in keys.iter().zip(&found) {
        let state = match value {
            Ok(Some(v)) => format!("hit, {} bytes", v.len()),
            Ok(None) => "miss".to_owned(),
            Err(e) => format!("unreadable: {e}"),
        };
        println!("get_many: {key} -> {state}");
    }

    // Set-if-absent: the basis of locks and collision-safe session ids.
    let lock = Key::new("lock.report")?;
    let first = store
        .add(
            lock,
            "worker-1".into(),
            Expiration::After(Duration::from_secs(30)),
        )
        .await?;
    let second = store
        .add(
            lock,
            "worker-2".into(),
            Expiration::After(Duration::from_secs(30)),
        )
        .await?;
    println!("add lock.report: first caller got it: {first}, second caller got it: {second}");

    // PSR keys are checked before any I/O: reserved characters are refused.
    match Key::new("user:42") {
        Ok(_) => println!("unexpected: user:42 accepted"),
        Err(e) => println!("Key::new(\"user:42\") -> error: {e}"),
    }

    // clear empties this namespace only.
    store.clear().await?;
    println!(
        "after clear: greeting -> {:?}",
        store
            .get(greeting)
            .await?
            .as_deref()
            .map(String::from_utf8_lossy)
    );
    Ok(())
}
