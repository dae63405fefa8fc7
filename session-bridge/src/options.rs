//! What a handler is configured with: key prefix, lifetime, id length, strict mode, locking.

use std::time::Duration;

use cache_store::{Error, ErrorKind, Key, Result};

use crate::id::{DEFAULT_ID_LENGTH, check_length};

/// PHP's `session.gc_maxlifetime` default: 1440 seconds.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(1440);

/// The key prefix unless told otherwise. PHP's handlers use `PHPREDIS_SESSION:` and
/// `memc.sess.key.`, but `:` is reserved in PSR-6/16 keys, so this one keeps to legal
/// characters.
pub const DEFAULT_PREFIX: &str = "sess_";

/// How a handler stores sessions.
///
/// ```
/// use std::time::Duration;
/// use session_bridge::{LockOptions, SessionOptions};
///
/// let options = SessionOptions::new()
///     .with_prefix("app.sess_")?
///     .with_max_lifetime(Duration::from_secs(3600))?
///     .strict(true)
///     .with_locking(LockOptions::default())?;
/// assert_eq!(options.prefix(), "app.sess_");
/// # Ok::<(), cache_store::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct SessionOptions {
    prefix: String,
    max_lifetime: Duration,
    id_length: usize,
    strict: bool,
    locking: Option<LockOptions>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            prefix: DEFAULT_PREFIX.to_owned(),
            max_lifetime: DEFAULT_MAX_LIFETIME,
            id_length: DEFAULT_ID_LENGTH,
            strict: false,
            locking: None,
        }
    }
}

impl SessionOptions {
    /// Prefix `sess_`, lifetime 1440 s, 32-character ids, strict mode and locking off.
    pub fn new() -> Self {
        SessionOptions::default()
    }

    /// Every key written starts with `prefix`, which keeps sessions apart from other data in
    /// the same cache (and one application's sessions from another's).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKey`] if the prefix holds a character PSR keys reserve
    /// (`{}()/\@:`), since every key is the prefix followed by an id.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Result<Self> {
        let prefix = prefix.into();
        if !prefix.is_empty() {
            Key::new(&prefix)?;
        }
        self.prefix = prefix;
        Ok(self)
    }

    /// The lifetime every write gives a session (PHP's `session.gc_maxlifetime`), counted
    /// again from each write and each [`update_timestamp`](crate::SessionHandler::update_timestamp).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for zero: a session that expires as it is written is a
    /// configuration mistake (PHP silently turns it into 1440 s; this refuses it instead).
    pub fn with_max_lifetime(mut self, lifetime: Duration) -> Result<Self> {
        if lifetime.is_zero() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a session max lifetime must be longer than zero",
            ));
        }
        self.max_lifetime = lifetime;
        Ok(self)
    }

    /// The length of ids [`create_sid`](crate::SessionHandler::create_sid) makes (6 random
    /// bits per character).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] outside 22..=256.
    pub fn with_id_length(mut self, length: usize) -> Result<Self> {
        check_length(length)?;
        self.id_length = length;
        Ok(self)
    }

    /// Strict mode (PHP's `session.use_strict_mode`): [`validate_id`](crate::SessionHandler::validate_id)
    /// accepts only ids the store knows, so a client cannot choose its own session id
    /// (session fixation).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Turns per-session locking on: `read` takes the session's lock, `close` and `destroy`
    /// release it, so two requests on one session run one after the other.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for a zero lock expiry (a lock must always end), a
    /// minimum wait above the maximum, or an empty lock key text; [`ErrorKind::InvalidKey`]
    /// for a lock key text with a reserved character.
    pub fn with_locking(mut self, lock: LockOptions) -> Result<Self> {
        if lock.expiry.is_zero() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a session lock expiry must be longer than zero, or a crashed request would hold the lock forever",
            ));
        }
        lock.key.check()?;
        if lock.wait_min > lock.wait_max {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a session lock's minimum wait is longer than its maximum wait",
            ));
        }
        self.locking = Some(lock);
        Ok(self)
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The lifetime of a written session.
    pub fn max_lifetime(&self) -> Duration {
        self.max_lifetime
    }

    /// The length of created ids.
    pub fn id_length(&self) -> usize {
        self.id_length
    }

    /// Whether strict mode is on.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// The locking settings, when locking is on.
    pub fn locking(&self) -> Option<&LockOptions> {
        self.locking.as_ref()
    }
}

/// How a session lock is taken: expiry, retries and the wait between them.
///
/// The defaults (30 s expiry; 30 retries waiting 4 ms, doubling to at most 64 ms, about 1.7 s
/// in all) sit between phpredis (100 retries of 20 ms) and php-memcached (5 retries of
/// 150 ms). Each wait is drawn at random from its upper half so that waiting requests do not
/// retry in step.
///
/// ```
/// use std::time::Duration;
/// use session_bridge::LockOptions;
///
/// let mut lock = LockOptions::default();
/// lock.retries = 5;
/// lock.expiry = Duration::from_secs(10);
/// # let _ = lock;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockOptions {
    /// Where the lock lives (default `<prefix><id>.lock`). PHP's handlers honour a lock only
    /// under their own key: [`LockKey::phpredis`] and [`LockKey::php_memcached`].
    pub key: LockKey,
    /// How long a lock lives if its holder never releases it (a crashed request). Always
    /// finite; choose it longer than the longest request.
    pub expiry: Duration,
    /// Attempts after the first before `read` gives up with [`ErrorKind::Locked`].
    pub retries: u32,
    /// The wait before the first retry.
    pub wait_min: Duration,
    /// The longest wait between two attempts (waits double up to it).
    pub wait_max: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            key: LockKey::AfterId(".lock".to_owned()),
            expiry: Duration::from_secs(30),
            retries: 30,
            wait_min: Duration::from_millis(4),
            wait_max: Duration::from_millis(64),
        }
    }
}

/// Where a session's lock lives, beside its data at `<prefix><id>`. The text added to the id
/// keeps to [`Key`]'s rules, as the prefix does.
///
/// ```
/// use session_bridge::LockKey;
///
/// assert_eq!(LockKey::phpredis().key("PHPREDIS_SESSION:", "abc"), "PHPREDIS_SESSION:abc_LOCK");
/// assert_eq!(LockKey::php_memcached().key("", "abc"), "lock.abc");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockKey {
    /// `<prefix><id><suffix>`: `.lock` by default, phpredis's `_LOCK`.
    AfterId(String),
    /// `<prefix><infix><id>`: php-memcached's `lock.`.
    BeforeId(String),
}

impl LockKey {
    /// phpredis's lock: the session's key and `_LOCK` (`PHPREDIS_SESSION:<id>_LOCK`).
    pub fn phpredis() -> LockKey {
        LockKey::AfterId("_LOCK".to_owned())
    }

    /// php-memcached's lock: `lock.` before the id, under the handler's prefix
    /// (`memc.sess.key.lock.<id>`).
    pub fn php_memcached() -> LockKey {
        LockKey::BeforeId("lock.".to_owned())
    }

    /// The lock's key for session `id` under `prefix`.
    pub fn key(&self, prefix: &str, id: &str) -> String {
        let (before, after) = match self {
            LockKey::AfterId(suffix) => ("", suffix.as_str()),
            LockKey::BeforeId(infix) => (infix.as_str(), ""),
        };
        [prefix, before, id, after].concat()
    }

    fn check(&self) -> Result<()> {
        let (LockKey::AfterId(text) | LockKey::BeforeId(text)) = self;
        if text.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a lock key must differ from the session's key: give it a suffix or an infix",
            ));
        }
        Key::new(text).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_refused() {
        let o = SessionOptions::new;
        assert_eq!(
            o().with_prefix("a:b").unwrap_err().kind(),
            ErrorKind::InvalidKey
        );
        assert!(o().with_prefix("").is_ok());
        assert_eq!(
            o().with_max_lifetime(Duration::ZERO).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            o().with_id_length(21).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        let lock = LockOptions {
            expiry: Duration::ZERO,
            ..LockOptions::default()
        };
        assert_eq!(
            o().with_locking(lock).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        let lock = LockOptions {
            wait_min: Duration::from_secs(1),
            ..LockOptions::default()
        };
        assert_eq!(
            o().with_locking(lock).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
}
