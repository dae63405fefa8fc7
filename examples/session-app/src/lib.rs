//! An axum application that keeps its sessions in a cache through session-bridge: a visit
//! counter, and login/logout with session id rotation.
//!
//! The sessions go `tower-sessions → TowerSessionStore → CacheSessionHandler → PSR-6 pool,
//! PSR-16 cache or Doctrine cache → Store` (moka in the process, Redis or memcached), all
//! chosen at start-up from a URL.
//!
//! | route | does |
//! |---|---|
//! | `GET /` | counts the visit; answers `visits: N` (and `user: NAME` when logged in) |
//! | `GET /me` | `user: NAME` or `anonymous`, without counting |
//! | `POST /login?user=NAME` | a new session id (the old one is deleted: no fixation), then logs in |
//! | `POST /logout` | deletes the session and its data |
//! | `GET /metrics` | the cache's counters and latencies (`cache_store::observe`), for Prometheus |
#![deny(missing_docs)]

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::{get, post};
use cache_pool::Pool;
use cache_store::{Error, ErrorKind};
use doctrine_compat::CacheProvider;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use php_marshal::session::SessionFormat;
use session_bridge::{
    CacheSessionHandler, PhpSessions, SessionHandler, SessionOptions, TowerSessionStore,
};
use simple_cache::Cache;
use tower_sessions::{Expiry, Session, SessionManagerLayer, cookie::time::Duration};

const VISITS: &str = "visits";
const USER: &str = "user";

/// Which abstraction the sessions go through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adapter {
    /// A PSR-6 pool.
    Pool,
    /// A PSR-16 cache.
    SimpleCache,
    /// A Doctrine cache.
    Doctrine,
}

impl std::str::FromStr for Adapter {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        match name {
            "pool" | "psr6" => Ok(Adapter::Pool),
            "simple" | "psr16" => Ok(Adapter::SimpleCache),
            "doctrine" => Ok(Adapter::Doctrine),
            other => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown adapter {other:?}: expected pool, simple or doctrine"),
            )),
        }
    }
}

/// The process's Prometheus recorder, installed on first use. The store's meters are
/// registered when it is opened, so this runs before any cache is opened; `None` when another
/// recorder was installed first.
pub fn metrics() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

/// The session handler for the cache at `url` (`moka://`, `redis://…`, `memcache://…`; see
/// `cache_store::open`) through `adapter`.
///
/// # Errors
///
/// A malformed URL, or a server that cannot be reached.
pub async fn session_handler(
    url: &str,
    adapter: Adapter,
) -> Result<Arc<dyn SessionHandler>, Error> {
    metrics();
    let store = cache_store::open(url).await?;
    let options = SessionOptions::new().with_prefix("session-app.")?;
    Ok(match adapter {
        Adapter::Pool => Arc::new(CacheSessionHandler::new(
            Arc::new(Pool::new(store)),
            options,
        )),
        Adapter::SimpleCache => Arc::new(CacheSessionHandler::new(
            Arc::new(Cache::new(store)),
            options,
        )),
        Adapter::Doctrine => Arc::new(CacheSessionHandler::new(
            Arc::new(CacheProvider::new(store).with_namespace("session-app")),
            options,
        )),
    })
}

/// The application over `handler`: sessions expire after 30 minutes without a visit.
///
/// # Errors
///
/// A handler with locking on (tower-sessions cannot release a lock).
pub fn app(handler: Arc<dyn SessionHandler>) -> Result<Router, Error> {
    Ok(routes(SessionManagerLayer::new(TowerSessionStore::new(
        handler,
    )?)))
}

/// The application sharing its sessions with a PHP application on the same servers: the
/// sessions of `preset` (PHP's keys, PHP's `php` session data, 1440 s as PHP's
/// `gc_maxlifetime`) under PHP's cookie, `PHPSESSID`. A user who logs in here is logged in
/// for the PHP application too, and the visit count is one `$_SESSION['visits']`.
///
/// # Errors
///
/// A malformed URL, or a server that cannot be reached.
pub async fn php_app(url: &str, preset: PhpSessions) -> Result<Router, Error> {
    metrics();
    let handler: Arc<dyn SessionHandler> = Arc::new(preset.open_unlocked(url).await?);
    let store = TowerSessionStore::new(handler)?
        .with_php_data(SessionFormat::Php, std::time::Duration::from_secs(1440));
    Ok(routes(
        SessionManagerLayer::new(store).with_name("PHPSESSID"),
    ))
}

fn routes(sessions: SessionManagerLayer<TowerSessionStore<Arc<dyn SessionHandler>>>) -> Router {
    let sessions = sessions
        .with_secure(false) // the example serves plain HTTP on loopback
        .with_expiry(Expiry::OnInactivity(Duration::minutes(30)));
    Router::new()
        .route("/", get(visit))
        .route("/me", get(me))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .layer(sessions)
        // Outside the session layer: scraping starts no session.
        .route("/metrics", get(render_metrics))
}

async fn render_metrics() -> Result<String, StatusCode> {
    metrics()
        .map(PrometheusHandle::render)
        .ok_or(StatusCode::NOT_FOUND)
}

type Reply = Result<String, (StatusCode, String)>;

fn failed(err: impl std::fmt::Display) -> (StatusCode, String) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("session error: {err}\n"),
    )
}

async fn user_line(session: &Session) -> Result<String, (StatusCode, String)> {
    Ok(match session.get::<String>(USER).await.map_err(failed)? {
        Some(user) => format!("user: {user}\n"),
        None => String::new(),
    })
}

async fn visit(session: Session) -> Reply {
    let visits = session
        .get::<u64>(VISITS)
        .await
        .map_err(failed)?
        .unwrap_or(0)
        + 1;
    session.insert(VISITS, visits).await.map_err(failed)?;
    Ok(format!("visits: {visits}\n{}", user_line(&session).await?))
}

async fn me(session: Session) -> Reply {
    let line = user_line(&session).await?;
    Ok(if line.is_empty() {
        "anonymous\n".to_owned()
    } else {
        line
    })
}

#[derive(serde::Deserialize)]
struct Login {
    user: String,
}

async fn login(session: Session, Query(login): Query<Login>) -> Reply {
    let valid = !login.user.is_empty()
        && login.user.len() <= 32
        && login.user.bytes().all(|b| b.is_ascii_alphanumeric());
    if !valid {
        return Err((
            StatusCode::BAD_REQUEST,
            "user: 1 to 32 letters or digits\n".to_owned(),
        ));
    }
    // A new id at every change of privilege: an id an attacker planted before login is
    // worthless after it. The data (the visit count) moves to the new id.
    session.cycle_id().await.map_err(failed)?;
    session.insert(USER, &login.user).await.map_err(failed)?;
    Ok(format!("logged in as {}\n", login.user))
}

async fn logout(session: Session) -> Reply {
    session.flush().await.map_err(failed)?;
    Ok("logged out\n".to_owned())
}
