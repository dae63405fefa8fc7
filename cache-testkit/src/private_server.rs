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
    /// Starts `binary` with the arguments `args(port)` for a free port, and waits until the
    /// port accepts connections.
    ///
    /// # Panics
    ///
    /// When no port is free, the binary does not start, or it does not listen within 2 s.
    pub fn start(binary: &str, args: impl FnOnce(u16) -> Vec<String>) -> Self {
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
        server.restart();
        server
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
        self.stop();
        let child = Command::new(&self.binary)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", self.binary));
        self.child = Some(child);
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{} did not listen on port {}", self.binary, self.port);
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
