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
    /// The format a URL's `format` parameter names (the default when it has none), and the
    /// URL without that parameter, for [`cache_store::open`].
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
        Ok((format.unwrap_or_default(), url))
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
}
