//! Opening a pool from a URL: the store's URL (see [`cache_store::open`]) with the pool's
//! value format as one more parameter, so that sharing a cache with PHP is configuration.

use std::sync::Arc;

use cache_store::{Error, ErrorKind, Result, Store};

use crate::format::ValueFormat;
use crate::pool::Pool;

/// Opens the pool a URL names: the store of [`cache_store::open`], with the
/// [`ValueFormat`] named by the `format` parameter (default `envelope`; with the `php`
/// feature also `symfony-5.4-serialize`, `symfony-5.4-igbinary`, `symfony-6.1-serialize`,
/// `symfony-6.1-igbinary`).
///
/// A Symfony format on a `memcache://` URL also opens the store in Symfony's
/// `MemcachedAdapter` layout (`symfony=<marshaller>` for [`cache_store::open`]), so that keys
/// match PHP's: long ids hashed with MD5 for `symfony-5.4`, with XXH3-128 (Symfony 6.3 and
/// later) for `symfony-6.1`; for Symfony 6.1 or 6.2 on memcached, add `long_ids=md5`.
///
/// ```
/// use cache_pool::{CacheItemPool, PoolValues};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let pool = cache_pool::open("moka://?namespace=app&format=envelope").await?;
/// assert_eq!(pool.store().namespace(), "app");
/// assert!(cache_pool::open("moka://?format=symfony-9").await.is_err());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// As [`cache_store::open`], and [`ErrorKind::InvalidArgument`] for an unknown format.
pub async fn open(url: &str) -> Result<Pool<Arc<dyn Store>>> {
    let (format, store_url) = ValueFormat::from_url(url)?;
    Ok(Pool::builder(cache_store::open(&store_url).await?)
        .format(format)
        .build())
}

impl ValueFormat {
    /// `url` with what the store must know of this format: Symfony's layout on memcached.
    fn store_url(&self, url: String) -> String {
        #[cfg(feature = "php")]
        if let Some((layout, marshaller)) = self.symfony_parts()
            && (url.starts_with("memcache://") || url.starts_with("memcached://"))
            && !url.contains("symfony=")
        {
            let marshaller = match marshaller {
                php_marshal::Format::Serialize => "serialize",
                php_marshal::Format::Igbinary => "igbinary",
            };
            let mut params = format!("symfony={marshaller}");
            if !url.contains("long_ids=") {
                params.push_str(match layout {
                    crate::SymfonyLayout::V5_4 => "&long_ids=md5",
                    crate::SymfonyLayout::V6_1 => "&long_ids=xxh128",
                });
            }
            let separator = if url.contains('?') { '&' } else { '?' };
            return format!("{url}{separator}{params}");
        }
        url
    }

    /// The format a URL's `format` parameter names (the default when it has none), and the
    /// URL for [`cache_store::open`]: without that parameter, and with what the store must
    /// know of the format (Symfony's layout on memcached, see [`open`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for an unknown format, or more than one.
    pub fn from_url(url: &str) -> Result<(ValueFormat, String)> {
        let Some((base, query)) = url.split_once('?') else {
            return Ok((ValueFormat::default(), url.to_owned()));
        };
        let mut format = None;
        let mut rest = Vec::new();
        for pair in query.split('&') {
            match pair.strip_prefix("format=") {
                Some(_) if format.is_some() => {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        "the URL names more than one format",
                    ));
                }
                Some(name) => format = Some(name.parse::<ValueFormat>()?),
                None => rest.push(pair),
            }
        }
        let url = if rest.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        let format = format.unwrap_or_default();
        let url = format.store_url(url);
        Ok((format, url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_parameter_is_taken_out_of_the_url() {
        let (format, url) =
            ValueFormat::from_url("redis://h:1/0?namespace=a&format=envelope&x=1").unwrap();
        assert_eq!(format, ValueFormat::envelope());
        assert_eq!(url, "redis://h:1/0?namespace=a&x=1");
        let (format, url) = ValueFormat::from_url("moka://").unwrap();
        assert_eq!((format, url.as_str()), (ValueFormat::default(), "moka://"));
        let (_, url) = ValueFormat::from_url("moka://?format=envelope").unwrap();
        assert_eq!(url, "moka://");
        for bad in [
            "moka://?format=",
            "moka://?format=php",
            "moka://?format=envelope&format=envelope",
        ] {
            let err = ValueFormat::from_url(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
    }

    #[cfg(feature = "php")]
    #[test]
    fn a_symfony_format_on_memcached_asks_for_symfonys_layout() {
        let (_, url) =
            ValueFormat::from_url("memcache://h:1?namespace=a&format=symfony-5.4-igbinary")
                .unwrap();
        assert_eq!(
            url,
            "memcache://h:1?namespace=a&symfony=igbinary&long_ids=md5"
        );
        let (_, url) =
            ValueFormat::from_url("memcached://h:1?format=symfony-6.1-serialize").unwrap();
        assert_eq!(url, "memcached://h:1?symfony=serialize&long_ids=xxh128");
        let (_, url) =
            ValueFormat::from_url("memcache://h:1?format=symfony-6.1-serialize&long_ids=md5")
                .unwrap();
        assert_eq!(url, "memcache://h:1?long_ids=md5&symfony=serialize");
        let (_, url) = ValueFormat::from_url("redis://h:1?format=symfony-6.1-serialize").unwrap();
        assert_eq!(url, "redis://h:1", "Redis keys need nothing more");
    }
}
