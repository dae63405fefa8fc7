//! Opening a store from a URL, so the backend is configuration, not code.

mod first_level;

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};
use crate::null::NullStore;
use crate::observe::Observed;
use crate::store::Store;
use first_level::FirstLevel;

/// Opens the store a URL names, [`Observed`] (every operation traced, and measured with the
/// `metrics` feature).
///
/// | URL | store |
/// |---|---|
/// | `memory://?capacity=64MiB&namespace=app&default_ttl=300s` | [`MemoryStore`](crate::memory::MemoryStore) (feature `memory`) |
/// | `moka://?capacity=64MiB&namespace=app&default_ttl=300s` | [`MokaStore`](crate::moka::MokaStore) (feature `moka`) |
/// | `null://?namespace=app` | [`NullStore`] |
/// | `redis://[user:pass@]host:port/db?namespace=app`, `rediss://…`, `redis+unix:///socket`, `unix:///socket` | `RedisStore` (feature `redis`) |
/// | `redis+cluster://host:port,host:port?namespace=app` | `RedisStore` on Redis Cluster (feature `redis`) |
/// | `redis+sentinel://[user:pass@]host:port,host:port/mymaster[/db]?namespace=app` | `RedisStore` on the primary the sentinels name, followed across failovers (feature `redis`) |
/// | `memcache://[user:pass@]host:port,host:port?namespace=app` | `MemcachedStore` (feature `memcached`) |
/// | `memcaches://host:port?tls_ca=/path/ca.pem` | `MemcachedStore` over TLS (feature `memcached-tls`) |
/// | `memcache://host:port,host:port?namespace=app&symfony=igbinary` | `PhpMemcachedStore`: Symfony's layout, shared with PHP (features `memcached` and `php`) |
///
/// Query parameters are optional: `namespace` (default empty) for every scheme, `capacity`
/// (bytes, with an optional `KB`/`KiB`/`MB`/`MiB`/`GB`/`GiB` suffix) and `default_ttl`
/// (`ms`, `s`, `m` or `h`; bare numbers are seconds) for memory and moka; `connect_timeout`,
/// `response_timeout`, `reconnect_min` and `reconnect_max` (durations), `tls_ca`, `tls_cert` and
/// `tls_key` (PEM file paths, `%`-escaped where needed; `rediss://` with the `redis-tls`
/// feature) and `keys=php` (PHP's plain `<namespace><key>`) for Redis;
/// `connect_timeout`, `request_timeout`, `reconnect_min`, `reconnect_max` and `token_refresh`
/// (durations; see `MemcachedStoreBuilder::token_refresh`), `max_item_bytes` (entries over it
/// refused before sending) and `tls_ca`, `tls_cert`, `tls_key`
/// (`memcaches://`) for memcached,
/// or instead `symfony` (`serialize` or `igbinary`: Symfony's layout with that marshaller)
/// and `long_ids` (`md5`, the default, as Symfony up to 6.2, or `xxh128`, as 6.3 and later),
/// or `keys=php` (PHP's plain `<namespace><key>`; `keys=php-opt-prefix` when PHP sets the
/// namespace as the client's `OPT_PREFIX_KEY`, as php-memcached's session handler does);
/// Redis's own parameters (such as `protocol`) are
/// passed through. Unknown schemes and unknown
/// parameters are errors, so a typo never silently falls back to a default.
///
/// On Redis and memcached, `first_level=memory` or `first_level=moka` puts an in-process
/// store in front of the shared one (a [`TwoLevel`](crate::two_level::TwoLevel)), of
/// `first_level_capacity` bytes (default 64 MiB), each copy kept at most
/// `first_level_lifetime` (default 30 s). On Redis the store watches its namespace
/// ([`RedisStore::watch`](crate::redis::RedisStore::watch)), so another process's change
/// drops the copy within milliseconds; on memcached the lifetime is the bound.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let store = cache_store::open("moka://?capacity=8MiB&namespace=app").await?;
/// assert_eq!(store.namespace(), "app");
/// assert!(cache_store::open("moka://?capacty=8MiB").await.is_err());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`ErrorKind::InvalidArgument`] for a malformed URL, an unknown scheme or parameter, or a
/// value out of range; [`ErrorKind::Unsupported`] for a scheme whose cargo feature is off.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        invalid(format!(
            "{url:?} is not a store URL (expected scheme://...)"
        ))
    })?;
    let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut params = parse_query(query)?;
    let first_level = FirstLevel::take(&mut params)?;
    if first_level.is_some() && matches!(scheme, "memory" | "moka" | "null") {
        return Err(invalid(format!(
            "first_level goes in front of a shared store (redis, memcache), not {scheme}://"
        )));
    }
    match scheme {
        "memory" => open_memory(authority, &params),
        "moka" => open_moka(authority, &params),
        "null" => {
            no_authority(scheme, authority)?;
            only(&params, &["namespace"])?;
            Ok(observed(NullStore::new(
                param(&params, "namespace").unwrap_or(""),
            )?))
        }
        "redis" | "rediss" | "redis+unix" | "unix" | "redis+cluster" | "redis+sentinel" => {
            open_redis(scheme, authority, &params, first_level.as_ref()).await
        }
        "memcache" | "memcached" | "memcaches" => {
            let store = open_memcached(scheme, authority, &params)?;
            match first_level {
                Some(first_level) => first_level.in_front_of(store),
                None => Ok(store),
            }
        }
        other => Err(invalid(format!(
            "unknown store scheme {other:?}; known: memory, moka, null, redis, rediss, redis+unix, \
             unix, redis+cluster, redis+sentinel, memcache, memcached, memcaches"
        ))),
    }
}

/// Applies the embedded backends' parameters (`namespace`, `capacity`, `default_ttl`) through
/// their builders' methods of the same names.
#[cfg(any(feature = "moka", feature = "memory"))]
macro_rules! embedded_builder {
    ($builder:expr, $params:expr) => {{
        let mut builder = $builder;
        if let Some(ns) = param($params, "namespace") {
            builder = builder.namespace(ns);
        }
        if let Some(capacity) = param($params, "capacity") {
            builder = builder.max_capacity_bytes(parse_size(capacity)?);
        }
        if let Some(ttl) = param($params, "default_ttl") {
            builder = builder.default_ttl(parse_duration(ttl)?);
        }
        builder
    }};
}

/// Every store `open` gives is [`Observed`]: traced, and measured with the `metrics` feature.
fn observed(store: impl Store + 'static) -> Arc<dyn Store> {
    Arc::new(Observed::new(store))
}

#[cfg(feature = "memory")]
fn open_memory(authority: &str, params: &[(String, String)]) -> Result<Arc<dyn Store>> {
    no_authority("memory", authority)?;
    only(params, &["namespace", "capacity", "default_ttl"])?;
    let builder = embedded_builder!(crate::memory::MemoryStore::builder(), params);
    Ok(observed(builder.build()?))
}

#[cfg(not(feature = "memory"))]
fn open_memory(_authority: &str, _params: &[(String, String)]) -> Result<Arc<dyn Store>> {
    Err(Error::new(
        ErrorKind::Unsupported,
        "memory:// needs the `memory` feature of cache-store",
    ))
}

#[cfg(feature = "moka")]
fn open_moka(authority: &str, params: &[(String, String)]) -> Result<Arc<dyn Store>> {
    no_authority("moka", authority)?;
    only(params, &["namespace", "capacity", "default_ttl"])?;
    let builder = embedded_builder!(crate::moka::MokaStore::builder(), params);
    Ok(observed(builder.build()?))
}

#[cfg(not(feature = "moka"))]
fn open_moka(_authority: &str, _params: &[(String, String)]) -> Result<Arc<dyn Store>> {
    Err(Error::new(
        ErrorKind::Unsupported,
        "moka:// needs the `moka` feature of cache-store",
    ))
}

#[cfg(feature = "redis")]
async fn open_redis(
    scheme: &str,
    authority: &str,
    params: &[(String, String)],
    first_level: Option<&FirstLevel>,
) -> Result<Arc<dyn Store>> {
    const OURS: [&str; 9] = [
        "namespace",
        "connect_timeout",
        "response_timeout",
        "reconnect_min",
        "reconnect_max",
        "keys",
        "tls_ca",
        "tls_cert",
        "tls_key",
    ];
    let theirs: Vec<String> = params
        .iter()
        .filter(|(k, _)| !OURS.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut url = format!("{scheme}://{authority}");
    if !theirs.is_empty() {
        url.push('?');
        url.push_str(&theirs.join("&"));
    }
    let mut builder = crate::redis::RedisStore::builder(&url);
    if let Some(ns) = param(params, "namespace") {
        builder = builder.namespace(ns);
    }
    if let Some(t) = param(params, "connect_timeout") {
        builder = builder.connect_timeout(parse_duration(t)?);
    }
    if let Some(t) = param(params, "response_timeout") {
        builder = builder.response_timeout(parse_duration(t)?);
    }
    if let Some((min, max)) = reconnect_delays(
        params,
        crate::redis::DEFAULT_RECONNECT_MIN_DELAY,
        crate::redis::DEFAULT_RECONNECT_MAX_DELAY,
    )? {
        builder = builder.reconnect_delays(min, max);
    }
    let tls = tls_files(params)?;
    if let Some(ca) = tls.ca {
        builder = builder.tls_ca_file(ca);
    }
    if let Some((cert, key)) = tls.client {
        builder = builder.tls_client_cert(cert, key);
    }
    match param(params, "keys") {
        None => {}
        Some("php") => builder = builder.php_keys(true),
        Some(other) => {
            return Err(invalid(format!(
                "keys={other:?}: the one key layout to ask for is keys=php"
            )));
        }
    }
    let store = builder.connect().await?;
    match first_level {
        Some(first_level) => first_level.in_front_of_watched(store),
        None => Ok(observed(store)),
    }
}

#[cfg(not(feature = "redis"))]
async fn open_redis(
    scheme: &str,
    _authority: &str,
    _params: &[(String, String)],
    _first_level: Option<&FirstLevel>,
) -> Result<Arc<dyn Store>> {
    Err(Error::new(
        ErrorKind::Unsupported,
        format!("{scheme}:// needs the `redis` feature of cache-store"),
    ))
}

#[cfg(feature = "memcached")]
fn open_memcached(
    scheme: &str,
    authority: &str,
    params: &[(String, String)],
) -> Result<Arc<dyn Store>> {
    only(
        params,
        &[
            "namespace",
            "connect_timeout",
            "request_timeout",
            "reconnect_min",
            "reconnect_max",
            "tls_ca",
            "tls_cert",
            "tls_key",
            "max_item_bytes",
            "token_refresh",
            "symfony",
            "long_ids",
            "keys",
        ],
    )?;
    let mut builder = crate::memcached::MemcachedStore::builder(&format!("{scheme}://{authority}"));
    if let Some(ns) = param(params, "namespace") {
        builder = builder.namespace(ns);
    }
    if let Some(t) = param(params, "connect_timeout") {
        builder = builder.connect_timeout(parse_duration(t)?);
    }
    if let Some(t) = param(params, "request_timeout") {
        builder = builder.request_timeout(parse_duration(t)?);
    }
    if let Some((min, max)) = reconnect_delays(
        params,
        memcached_meta::DEFAULT_RECONNECT_MIN_DELAY,
        memcached_meta::DEFAULT_RECONNECT_MAX_DELAY,
    )? {
        builder = builder.reconnect_delays(min, max);
    }
    let tls = tls_files(params)?;
    if let Some(ca) = tls.ca {
        builder = builder.tls_ca_file(ca);
    }
    if let Some((cert, key)) = tls.client {
        builder = builder.tls_client_cert(cert, key);
    }
    if let Some(bytes) = param(params, "max_item_bytes") {
        let bytes = usize::try_from(parse_size(bytes)?)
            .map_err(|_| invalid(format!("max_item_bytes={bytes} is too large")))?;
        builder = builder.max_item_bytes(bytes);
    }
    match (param(params, "keys"), param(params, "symfony")) {
        (None, _) => {}
        (Some(keys @ ("php" | "php-opt-prefix")), None) => {
            return php_keys_memcached(builder, keys == "php-opt-prefix");
        }
        (Some(other), _) => {
            return Err(invalid(format!(
                "keys={other:?}: the key layouts are keys=php and keys=php-opt-prefix (and not with symfony=)"
            )));
        }
    }
    if let Some(marshaller) = param(params, "symfony") {
        if param(params, "token_refresh").is_some() {
            return Err(invalid(
                "token_refresh does not apply to the Symfony layout, which reads its namespace version with every call".to_owned(),
            ));
        }
        return symfony_memcached(builder, marshaller, param(params, "long_ids"));
    }
    if param(params, "long_ids").is_some() {
        return Err(invalid(
            "long_ids applies only with symfony=<marshaller>".to_owned(),
        ));
    }
    if let Some(t) = param(params, "token_refresh") {
        builder = builder.token_refresh(parse_duration(t)?);
    }
    Ok(observed(builder.build()?))
}

/// The memcached store in Symfony's layout: `symfony=serialize|igbinary`, `long_ids=md5|xxh128`.
#[cfg(all(feature = "memcached", feature = "php"))]
fn symfony_memcached(
    builder: crate::memcached::MemcachedStoreBuilder,
    marshaller: &str,
    long_ids: Option<&str>,
) -> Result<Arc<dyn Store>> {
    use crate::codec::Php;
    use crate::memcached::{LongIds, SymfonyMemcached};
    let marshaller = match marshaller {
        "serialize" => Php::SERIALIZE,
        "igbinary" => Php::IGBINARY,
        other => {
            return Err(invalid(format!(
                "symfony={other:?}: the marshaller is serialize or igbinary"
            )));
        }
    };
    let long_ids = match long_ids {
        None | Some("md5") => LongIds::Md5,
        Some("xxh128") => LongIds::Xxh128,
        Some(other) => {
            return Err(invalid(format!("long_ids={other:?}: md5 or xxh128")));
        }
    };
    Ok(observed(builder.build_symfony(
        SymfonyMemcached::new(marshaller).long_ids(long_ids),
    )?))
}

/// The memcached store with PHP's plain keys: `keys=php`, or `keys=php-opt-prefix` for a
/// namespace PHP sets as the client's `OPT_PREFIX_KEY`.
#[cfg(all(feature = "memcached", feature = "php"))]
fn php_keys_memcached(
    builder: crate::memcached::MemcachedStoreBuilder,
    opt_prefix: bool,
) -> Result<Arc<dyn Store>> {
    use crate::memcached::PhpPrefix;
    let prefix = if opt_prefix {
        PhpPrefix::OptPrefixKey
    } else {
        PhpPrefix::InKey
    };
    Ok(observed(builder.build_php_keys(prefix)?))
}

#[cfg(all(feature = "memcached", not(feature = "php")))]
fn php_keys_memcached(
    _builder: crate::memcached::MemcachedStoreBuilder,
    _opt_prefix: bool,
) -> Result<Arc<dyn Store>> {
    Err(Error::new(
        ErrorKind::Unsupported,
        "keys=php needs the `php` feature of cache-store",
    ))
}

#[cfg(all(feature = "memcached", not(feature = "php")))]
fn symfony_memcached(
    _builder: crate::memcached::MemcachedStoreBuilder,
    _marshaller: &str,
    _long_ids: Option<&str>,
) -> Result<Arc<dyn Store>> {
    Err(Error::new(
        ErrorKind::Unsupported,
        "symfony=<marshaller> needs the `php` feature of cache-store",
    ))
}

#[cfg(not(feature = "memcached"))]
fn open_memcached(
    scheme: &str,
    authority: &str,
    _params: &[(String, String)],
) -> Result<Arc<dyn Store>> {
    Err(Error::new(
        ErrorKind::Unsupported,
        format!("{scheme}://{authority} needs the `memcached` feature of cache-store"),
    ))
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

fn no_authority(scheme: &str, authority: &str) -> Result<()> {
    if authority.is_empty() {
        Ok(())
    } else {
        Err(invalid(format!(
            "{scheme}:// takes no host; got {authority:?} (write {scheme}://?param=value)"
        )))
    }
}

fn parse_query(query: &str) -> Result<Vec<(String, String)>> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| invalid(format!("query parameter {pair:?} has no '=value'")))
        })
        .collect()
}

/// The TLS files of `rediss://` and `memcaches://`: `tls_ca`, and `tls_cert` with `tls_key`,
/// decoded.
#[cfg_attr(not(any(feature = "redis", feature = "memcached")), allow(dead_code))]
struct TlsFiles {
    ca: Option<String>,
    client: Option<(String, String)>,
}

#[cfg_attr(not(any(feature = "redis", feature = "memcached")), allow(dead_code))]
fn tls_files(params: &[(String, String)]) -> Result<TlsFiles> {
    let ca = param(params, "tls_ca").map(percent_decoded).transpose()?;
    let client = match (param(params, "tls_cert"), param(params, "tls_key")) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some((percent_decoded(cert)?, percent_decoded(key)?)),
        _ => return Err(invalid("tls_cert and tls_key go together".to_owned())),
    };
    Ok(TlsFiles { ca, client })
}

/// `reconnect_min` and `reconnect_max`, each defaulting to the backend's own; `None` when
/// neither is given.
#[cfg_attr(not(any(feature = "redis", feature = "memcached")), allow(dead_code))]
fn reconnect_delays(
    params: &[(String, String)],
    min: Duration,
    max: Duration,
) -> Result<Option<(Duration, Duration)>> {
    let (given_min, given_max) = (
        param(params, "reconnect_min"),
        param(params, "reconnect_max"),
    );
    if given_min.is_none() && given_max.is_none() {
        return Ok(None);
    }
    Ok(Some((
        given_min.map_or(Ok(min), parse_duration)?,
        given_max.map_or(Ok(max), parse_duration)?,
    )))
}

/// A query value with its `%XX` escapes decoded (for file paths).
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
fn percent_decoded(value: &str) -> Result<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let byte = value
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| invalid(format!("{value:?} has a malformed %-escape")))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| invalid(format!("{value:?} is not UTF-8 once decoded")))
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn only(params: &[(String, String)], known: &[&str]) -> Result<()> {
    match params.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some((k, _)) => Err(invalid(format!(
            "unknown parameter {k:?}; this scheme takes {known:?}"
        ))),
    }
}

/// `64MiB`, `1000`, `10KB` into bytes.
#[cfg_attr(
    not(any(feature = "moka", feature = "memory", feature = "memcached")),
    allow(dead_code)
)]
fn parse_size(text: &str) -> Result<u64> {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| invalid(format!("size {text:?} does not start with a number")))?;
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KB" => 1_000,
        "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        _ => return Err(invalid(format!("size {text:?} has unknown unit {unit:?}"))),
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| invalid(format!("size {text:?} is too large")))
}

/// `300`, `300s`, `5m`, `250ms`, `2h` into a duration.
#[cfg_attr(
    not(any(
        feature = "moka",
        feature = "memory",
        feature = "redis",
        feature = "memcached"
    )),
    allow(dead_code)
)]
fn parse_duration(text: &str) -> Result<Duration> {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| invalid(format!("duration {text:?} does not start with a number")))?;
    let seconds_per_unit = match unit {
        "ms" => return Ok(Duration::from_millis(number)),
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        _ => {
            return Err(invalid(format!(
                "duration {text:?} has unknown unit {unit:?}"
            )));
        }
    };
    number
        .checked_mul(seconds_per_unit)
        .map(Duration::from_secs)
        .ok_or_else(|| invalid(format!("duration {text:?} is too long")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_escapes_decode() {
        assert_eq!(percent_decoded("/a%20b/c%2Fd").unwrap(), "/a b/c/d");
        assert_eq!(percent_decoded("plain").unwrap(), "plain");
        for bad in ["%", "%2", "%zz", "%ff"] {
            assert!(percent_decoded(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_and_durations_parse() {
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_size("2GB").unwrap(), 2_000_000_000);
        for bad in ["", "MiB", "12XB", "-1", "99999999999999999999GiB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration("300").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        for bad in ["", "s", "1d", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn urls_open_the_named_backend_or_say_why_not() {
        let store = open("null://?namespace=n").await.unwrap();
        assert_eq!(store.namespace(), "n");
        #[cfg(feature = "moka")]
        {
            let store = open("moka://?capacity=1MiB&default_ttl=5s").await.unwrap();
            assert_eq!(store.namespace(), "");
        }
        #[cfg(feature = "memory")]
        {
            let store = open("memory://?capacity=1MiB&default_ttl=5s&namespace=m")
                .await
                .unwrap();
            assert_eq!(store.namespace(), "m");
        }
        for bad in [
            "moka",
            "ftp://x",
            "moka://host",
            "moka://?capacity",
            "moka://?nope=1",
            "moka://?namespace=a:b",
            "moka://?capacity=0",
            "memory://host",
            "memory://?capacity=50",
            "memory://?capacity=0",
            "memory://?ttl=5s",
            "null://?capacity=1",
            "moka://?first_level=memory",
            "memory://?first_level=moka",
            "null://?first_level=moka",
            "redis://127.0.0.1:1/0?first_level=disk",
            "redis://127.0.0.1:1/0?first_level_lifetime=5s",
            "memcache://127.0.0.1:1?first_level=moka&first_level_capacity=lots",
            "memcache://127.0.0.1:1?first_level=moka&first_level_lifetime=1d",
        ] {
            let err = open(bad).await.map(|_| ()).unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::InvalidArgument | ErrorKind::Unsupported
                ),
                "{bad}: {err}"
            );
        }
    }
}
