//! A server process of a test's own, for tests that stop and restart a server without
//! disturbing the shared test servers.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A server binary started on a free loopback port, stopped and restarted at will, killed on
/// drop.
///
/// ```no_run
/// use cache_testkit::PrivateServer;
///
/// let mut server = PrivateServer::start("memcached", |port| {
///     vec!["-l".into(), "127.0.0.1".into(), "-p".into(), port.to_string()]
/// });
/// server.stop();
/// server.restart();
/// server.freeze();
/// server.thaw();
/// ```
#[derive(Debug)]
pub struct PrivateServer {
    binary: String,
    args: Vec<String>,
    port: u16,
    child: Option<Child>,
}

impl PrivateServer {
    /// Starts `binary` with the arguments `args(port)` for a free port, and waits until it
    /// listens there. A port another process takes meanwhile is given up for another.
    ///
    /// # Panics
    ///
    /// When no port is free, the binary does not start, or it does not listen within 2 s
    /// on any of five ports.
    pub fn start(binary: &str, args: impl Fn(u16) -> Vec<String>) -> Self {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let mut server = PrivateServer {
                binary: binary.to_owned(),
                args: args(port),
                port,
                child: None,
            };
            if server.launch() {
                return server;
            }
        }
        panic!("{binary} did not start on any of five free ports");
    }

    /// A memcached of the test's own on loopback (16 MiB, no UDP), with `extra` arguments.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn memcached(binary: &str, extra: &[String]) -> Self {
        let user = std::env::var("USER").unwrap_or_else(|_| "root".to_owned());
        PrivateServer::start(binary, |port| {
            let mut args: Vec<String> = ["-l", "127.0.0.1", "-p", &port.to_string(), "-U", "0"]
                .map(String::from)
                .to_vec();
            args.extend(["-m", "16", "-u", &user].map(String::from));
            args.extend(extra.iter().cloned());
            args
        })
    }

    /// A redis-server of the test's own on loopback, persisting nothing, with `extra`
    /// arguments.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn redis(binary: &str, extra: &[String]) -> Self {
        PrivateServer::start(binary, |port| {
            let mut args: Vec<String> = ["--port", &port.to_string(), "--bind", "127.0.0.1"]
                .map(String::from)
                .to_vec();
            args.extend(["--save", "", "--appendonly", "no"].map(String::from));
            args.extend(extra.iter().cloned());
            args
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (what a crash looks like to clients).
    ///
    /// # Panics
    ///
    /// When the process cannot be killed or reaped.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("stop the private server");
            child.wait().expect("reap the private server");
        }
    }

    /// Freezes the server (`SIGSTOP`): it keeps its connections open and its port bound, and
    /// answers nothing, which is what a hung server or a dead network path looks like.
    ///
    /// # Panics
    ///
    /// When the server is not running or the signal cannot be sent.
    pub fn freeze(&self) {
        self.signal("-STOP");
        // A signal is delivered asynchronously: wait until every thread has stopped, so that
        // no request sent after this returns is still served.
        for _ in 0..200 {
            if self.state() == Some('T') {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("the private server did not stop within 1 s of SIGSTOP");
    }

    /// The process state letter of `/proc/<pid>/stat` (`T` when stopped).
    fn state(&self) -> Option<char> {
        let child = self.child.as_ref()?;
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).ok()?;
        // `pid (name) state …`: the name may hold spaces, so read after its closing `)`.
        stat.rsplit_once(')')?.1.trim_start().chars().next()
    }

    /// Lets a frozen server go on (`SIGCONT`).
    ///
    /// # Panics
    ///
    /// When the server is not running or the signal cannot be sent.
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("a running private server");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} failed");
    }

    /// Starts it again on the same port (empty: nothing is persisted), and waits until it
    /// listens.
    ///
    /// # Panics
    ///
    /// When the binary does not start or does not listen within 2 s.
    pub fn restart(&mut self) {
        assert!(
            self.launch(),
            "{} did not listen on port {}",
            self.binary,
            self.port
        );
    }

    /// Starts the process and waits until it listens on its port; `false` when it exits
    /// first (its port taken by another process, whose listener must not pass for ours).
    fn launch(&mut self) -> bool {
        self.stop();
        let child = Command::new(&self.binary)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", self.binary));
        let child = self.child.insert(child);
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                // A server that could not bind exits at once: make sure it is still there.
                std::thread::sleep(Duration::from_millis(20));
                return matches!(child.try_wait(), Ok(None));
            }
            if !matches!(child.try_wait(), Ok(None)) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A frozen process still dies of SIGKILL.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
