//! Servers: in this process (`InProcess`, the library's `Application`) or as a child process (`Server`), and the `Served` handle a `TestApp` holds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::fixtures::*;

pub struct Server {
    child: Child,
    pub base: String,
    log: PathBuf,
    /// Standard output after the `listening on` line, line by line.
    stdout: mpsc::Receiver<String>,
}

impl Server {
    pub fn start(dir: &Path, db_url: &str) -> Server {
        Server::start_with(dir, db_url, &[])
    }

    /// `serve` with more flags. Settings the environment could add are removed, so a test's
    /// flags are all the server gets.
    pub fn start_with(dir: &Path, db_url: &str, extra: &[&str]) -> Server {
        let n = SERVER_SEQ.fetch_add(1, Ordering::SeqCst);
        let log = dir.join(format!("serve-{n}.stderr"));
        let log_file = File::create(&log).expect("create server log");
        let mut child = Command::new(bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--database", db_url])
            .args(extra)
            .env_remove("PORTCULLIS_DNS_SERVER")
            .env_remove("PORTCULLIS_SSO_CODE_PREFIX")
            .env_remove("PORTCULLIS_SSO_CHECK_INTERVAL")
            .env_remove("PORTCULLIS_SSO_VERIFICATION_WINDOW")
            .env_remove("PORTCULLIS_AUTHZ")
            .env_remove("PORTCULLIS_CONFIG")
            .env_remove("PORTCULLIS_CATALOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} serve: {e}", bin()));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            // Keep draining stdout for the server's whole life so it never blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        let _ = tx.send(l);
                    }
                    Err(_) => break,
                }
            }
        });
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut seen = Vec::new();
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                        break format!("http://{addr}");
                    }
                    seen.push(line);
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
                    panic!(
                        "server did not print `listening on http://ADDR` ({e:?}).\nstdout:\n{}\nstderr:\n{stderr}",
                        seen.join("\n")
                    );
                }
            }
        };
        Server {
            child,
            base,
            log,
            stdout: rx,
        }
    }

    /// The next line the server writes to standard output, waiting at most `timeout`.
    pub fn next_stdout_line(&self, timeout: Duration) -> Option<String> {
        self.stdout.recv_timeout(timeout).ok()
    }

    /// SIGTERM, then wait for the process to exit (at most 15 s).
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("server did not exit within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A server run inside the test process (`portcullis::startup::Application`), on a runtime
/// of its own, from the same command line `serve` would parse. Stopped (gracefully) on drop.
pub struct InProcess {
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    pub fn start_with(db_url: &str, extra: &[&str]) -> InProcess {
        let mut args = vec![
            "portcullis",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            db_url,
        ];
        args.extend_from_slice(extra);
        let settings = portcullis::cli::serve_settings(args)
            .unwrap_or_else(|e| panic!("serve settings: {e:#}"));
        let (ready_tx, ready_rx) = mpsc::channel::<Result<std::net::SocketAddr, String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                let application = match portcullis::startup::Application::build(settings).await {
                    Ok(a) => a,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("{e:#}")));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(application.addr()));
                let _ = application
                    .run_until_stopped(async {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        });
        let addr = match ready_rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Ok(addr)) => addr,
            Ok(Err(e)) => panic!("in-process server did not start: {e}"),
            Err(e) => panic!("in-process server did not start: {e:?}"),
        };
        InProcess {
            base: format!("http://{addr}"),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The server of a [`TestApp`]: in this process (most tests), or a child process (tests that
/// stop and restart it, or read its log).
pub enum Served {
    InProcess(InProcess),
    Process(Server),
}

impl Served {
    pub fn base(&self) -> &str {
        match self {
            Served::InProcess(s) => &s.base,
            Served::Process(s) => &s.base,
        }
    }
}
