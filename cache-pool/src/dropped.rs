//! Deferred items still queued when a pool is dropped: committed on a spawned task, as PHP's
//! pools commit in their destructors, with a warning that `commit` was forgotten. Outside a
//! tokio runtime nothing can be awaited, and an error says how many were lost.

use std::future::Future;

use cache_store::Result;

/// Spawns `commit`, the write of `count` deferred items left in a dropped `pool` (named for
/// the logs: "a cache pool", "a tag-aware pool") of `namespace`.
pub(crate) fn commit_in_background(
    pool: &'static str,
    namespace: &str,
    count: usize,
    commit: impl Future<Output = Result<()>> + Send + 'static,
) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::error!(
            count,
            namespace,
            "{pool} was dropped outside a tokio runtime with deferred items not committed; \
             they are lost (call commit() before dropping the pool)"
        );
        return;
    };
    tracing::warn!(
        count,
        namespace,
        "{pool} was dropped with deferred items not committed; committing them in the \
         background (call commit() before dropping the pool)"
    );
    runtime.spawn(async move {
        if let Err(err) = commit.await {
            tracing::error!(
                count,
                error = %err,
                "committing the deferred items of a dropped {} failed; they are lost",
                pool.trim_start_matches("a ")
            );
        }
    });
}
