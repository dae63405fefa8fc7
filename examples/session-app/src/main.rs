//! Runs the session example app.
//!
//! ```text
//! cargo run -p session-app                                  # sessions in moka, port 3000
//! cargo run -p session-app -- --cache redis://127.0.0.1:6379 --adapter doctrine
//! cargo run -p session-app -- --cache memcache://127.0.0.1:11211 --listen 127.0.0.1:0
//! cargo run -p session-app -- --cache redis://127.0.0.1:6379/0 --php phpredis
//! ```
//!
//! With `--php phpredis|php-memcached` it shares its sessions (and so its logins) with a PHP
//! application whose sessions are on the same servers (cookie `PHPSESSID`).
//!
//! It prints `listening on http://ADDRESS` once it accepts connections.

// The served future's type (axum, tower-sessions and the Prometheus recorder's types nested)
// is deeper than clippy's default query depth allows.
#![recursion_limit = "256"]

use std::io::Write;
use std::process::ExitCode;

use session_app::{Adapter, app, php_app, session_handler};
use session_bridge::PhpSessions;

struct Args {
    listen: String,
    cache: String,
    adapter: Adapter,
    php: Option<PhpSessions>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: "127.0.0.1:3000".to_owned(),
        cache: std::env::var("SESSION_APP_CACHE_URL").unwrap_or_else(|_| "moka://".to_owned()),
        adapter: Adapter::Pool,
        php: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => args.listen = value()?,
            "--cache" => args.cache = value()?,
            "--adapter" => args.adapter = value()?.parse().map_err(|e| format!("{e}"))?,
            "--php" => {
                args.php = Some(match value()?.as_str() {
                    "phpredis" => PhpSessions::Phpredis,
                    "php-memcached" => PhpSessions::PhpMemcached,
                    other => return Err(format!("--php {other:?}: phpredis or php-memcached")),
                });
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: session-app [--listen ADDR] [--cache URL] [--adapter pool|simple|doctrine] [--php phpredis|php-memcached]"
                ));
            }
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("session-app: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let opening = |e: cache_store::Error| format!("opening {}: {e}", args.cache);
    let app = match args.php {
        Some(preset) => php_app(&args.cache, preset).await.map_err(opening)?,
        None => {
            let handler = session_handler(&args.cache, args.adapter)
                .await
                .map_err(opening)?;
            app(handler).map_err(|e| e.to_string())?
        }
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("binding {}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{address}");
    // Whoever started us (the integration test) waits for that line.
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            // Without a signal handler (never on the platforms here), serve until killed.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
        .await
        .map_err(|e| e.to_string())
}
