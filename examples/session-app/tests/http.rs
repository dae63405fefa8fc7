//! Starts the example app as a process and drives it over real HTTP: count visits, log in
//! (which must rotate the session id), count again, log out, on moka and on every server the
//! environment names, through each of the three adapters; and with `--php`, shares one login
//! with PHP itself.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// The running app; killed when dropped, so a failing test leaves no process behind.
struct App {
    child: Child,
    address: String,
    /// The session cookie's name.
    cookie: &'static str,
}

impl App {
    fn start(cache_url: &str, adapter: &str) -> App {
        App::start_with(&["--cache", cache_url, "--adapter", adapter], "id")
    }

    fn start_with(args: &[&str], cookie: &'static str) -> App {
        let mut child = Command::new(env!("CARGO_BIN_EXE_session-app"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the session-app binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the app prints its address");
        let address = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line from the app: {line:?}"))
            .to_owned();
        App {
            child,
            address,
            cookie,
        }
    }

    /// One request on its own connection; the session cookie is sent when given.
    fn request(&self, method: &str, path: &str, cookie: Option<&str>) -> Response {
        let mut stream = TcpStream::connect(&self.address).expect("connect to the app");
        let cookie = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{cookie}Content-Length: 0\r\nConnection: close\r\n\r\n",
            self.address
        )
        .expect("send the request");
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read the response");
        Response::parse(&raw, self.cookie)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    /// `name=value` of the session cookie the response sets, if it sets one.
    cookie: Option<String>,
    body: String,
}

impl Response {
    fn parse(raw: &str, cookie_name: &str) -> Response {
        let (head, body) = raw
            .split_once("\r\n\r\n")
            .expect("a complete HTTP response");
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let cookie = lines
            .filter_map(|l| l.split_once(':'))
            .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, value)| value.trim().split(';').next().unwrap_or("").to_owned())
            .find(|c| c.starts_with(&format!("{cookie_name}=")));
        Response {
            status,
            cookie,
            body: body.to_owned(),
        }
    }
}

fn scenario(cache_url: &str, adapter: &str) {
    let app = App::start(cache_url, adapter);

    // A first visit creates a session and sets its cookie; the next visits count up.
    let first = app.request("GET", "/", None);
    assert_eq!((first.status, first.body.as_str()), (200, "visits: 1\n"));
    let before_login = first.cookie.expect("the first visit sets a session cookie");
    assert_eq!(
        app.request("GET", "/", Some(&before_login)).body,
        "visits: 2\n"
    );
    assert_eq!(
        app.request("GET", "/me", Some(&before_login)).body,
        "anonymous\n"
    );

    // Logging in rotates the id: a new cookie, and the old id is dead.
    let login = app.request("POST", "/login?user=alice", Some(&before_login));
    assert_eq!(
        (login.status, login.body.as_str()),
        (200, "logged in as alice\n")
    );
    let after_login = login.cookie.expect("login sets the rotated session cookie");
    assert_ne!(after_login, before_login, "login kept the session id");
    assert_eq!(
        app.request("GET", "/", Some(&after_login)).body,
        "visits: 3\nuser: alice\n",
        "the session data did not follow the new id"
    );
    assert_eq!(
        app.request("GET", "/me", Some(&after_login)).body,
        "user: alice\n"
    );
    let old = app.request("GET", "/", Some(&before_login));
    assert_eq!(
        old.body, "visits: 1\n",
        "the pre-login id still opens the session"
    );
    assert_ne!(old.cookie.as_deref(), Some(before_login.as_str()));

    // Logging out deletes the session.
    let logout = app.request("POST", "/logout", Some(&after_login));
    assert_eq!((logout.status, logout.body.as_str()), (200, "logged out\n"));
    assert_eq!(
        app.request("GET", "/me", Some(&after_login)).body,
        "anonymous\n"
    );
    assert_eq!(
        app.request("GET", "/", Some(&after_login)).body,
        "visits: 1\n"
    );

    // Bad input: a forged cookie is a new session, a bad user name a 400.
    let forged = app.request("GET", "/", Some("id=..%2F..%2Fetc:passwd{x}"));
    assert_eq!((forged.status, forged.body.as_str()), (200, "visits: 1\n"));
    assert_eq!(app.request("POST", "/login?user=a%20b", None).status, 400);

    // Prometheus sees the cache: sessions read (hits) and written, by backend.
    let metrics = app.request("GET", "/metrics", None);
    assert_eq!(metrics.status, 200);
    let backend = match cache_url.split("://").next() {
        Some("memcache") => "memcached",
        Some(scheme) => scheme,
        None => unreachable!(),
    };
    for counter in ["cache_hits_total", "cache_writes_total"] {
        let count: f64 = metrics
            .body
            .lines()
            .find(|l| {
                l.starts_with(&format!("{counter}{{"))
                    && l.contains(&format!("backend=\"{backend}\""))
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {counter} for {backend} in:\n{}", metrics.body));
        assert!(count > 0.0, "{counter} is {count}");
    }
    assert!(
        metrics.body.contains("cache_operation_seconds"),
        "{}",
        metrics.body
    );
}

fn every_adapter(cache_url: &str) {
    for adapter in ["pool", "simple", "doctrine"] {
        scenario(cache_url, adapter);
    }
}

#[test]
fn sessions_over_http_on_moka() {
    every_adapter("moka://");
}

#[test]
fn sessions_over_http_on_redis() {
    if let Some(url) = cache_testkit::server_url("CACHE_TEST_REDIS_URL") {
        every_adapter(&url);
    }
}

#[test]
fn sessions_over_http_on_memcached() {
    if let Some(url) = cache_testkit::server_url("CACHE_TEST_MEMCACHED_URL") {
        every_adapter(&url);
    }
}

/// The app with `--php`, and PHP's own session handler on the same server, share one login:
/// a user who logs in to the app is logged in for PHP, and one visit count runs across both.
#[test]
fn the_app_and_php_share_one_login() {
    let Some(php) = cache_testkit::server_url("CACHE_TEST_PHP") else {
        return;
    };
    let servers = [
        ("CACHE_TEST_REDIS_URL", "phpredis"),
        ("CACHE_TEST_MEMCACHED_URL", "php-memcached"),
    ];
    for (var, preset) in servers {
        let Some(url) = cache_testkit::server_url(var) else {
            continue;
        };
        let app = App::start_with(&["--cache", &url, "--php", preset], "PHPSESSID");
        let login = app.request("POST", "/login?user=alice", None);
        assert_eq!(login.status, 200, "{preset}: {}", login.body);
        let cookie = login.cookie.expect("login sets PHP's session cookie");
        let id = cookie.trim_start_matches("PHPSESSID=");

        let handler = if let Some(servers) = url.strip_prefix("memcache://") {
            format!("-d session.save_handler=memcached -d session.save_path={servers}")
        } else {
            let address = url
                .trim_start_matches("redis://")
                .split('/')
                .next()
                .unwrap_or("");
            format!("-d session.save_handler=redis -d session.save_path=tcp://{address}")
        };
        let ini: Vec<&str> = handler
            .split(' ')
            .filter(|part| *part != "-d")
            .chain(["session.use_cookies=0", "session.cache_limiter="])
            .collect();
        let printed = cache_testkit::php::run(
            &php,
            &ini,
            &format!(
                "session_id('{id}'); session_start();
                echo $_SESSION['user'] ?? 'anonymous';
                $_SESSION['visits'] = 41;"
            ),
        );
        assert_eq!(printed, "alice", "{preset}: PHP sees the login");
        assert_eq!(
            app.request("GET", "/", Some(&cookie)).body,
            "visits: 42\nuser: alice\n",
            "{preset}: the app sees PHP's write"
        );
    }
}
