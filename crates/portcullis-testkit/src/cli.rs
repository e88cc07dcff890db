//! The `portcullis` commands run as processes (`bootstrap`, `user-key`, …) and their JSON output.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::fmt;
use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::fixtures::*;

pub struct CliOut {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Display for CliOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status.code(),
            self.stdout,
            self.stderr
        )
    }
}

/// Runs `portcullis <args>` to completion (killed after a minute).
pub fn cli(args: &[&str]) -> CliOut {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} {args:?}: {e}", bin()));
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + CLI_TIMEOUT;
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`portcullis {args:?}` did not finish within {CLI_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    CliOut {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

/// Runs the CLI, asserts exit 0 and that stdout is exactly one JSON object.
pub fn cli_json(args: &[&str]) -> Value {
    let out = cli(args);
    assert!(out.status.success(), "`portcullis {args:?}` failed: {out}");
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| {
        panic!("`portcullis {args:?}` must print one JSON object on stdout ({e}): {out}")
    });
    assert!(
        v.is_object(),
        "`portcullis {args:?}` printed {v}, not an object"
    );
    v
}

pub fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing string field `{key}` in {v}"))
        .to_string()
}

#[derive(Clone, Debug)]
pub struct Boot {
    pub account_id: String,
    pub user_id: String,
    pub member_id: String,
    pub email: String,
    pub api_key: String,
    pub api_token: String,
    pub api_token_id: String,
}

impl Boot {
    pub fn from_json(v: &Value) -> Boot {
        Boot {
            account_id: str_field(v, "account_id"),
            user_id: str_field(v, "user_id"),
            member_id: str_field(v, "member_id"),
            email: str_field(v, "email"),
            api_key: str_field(v, "api_key"),
            api_token: str_field(v, "api_token"),
            api_token_id: str_field(v, "api_token_id"),
        }
    }
}

pub fn bootstrap(db_url: &str, account_name: &str, email: &str, extra: &[&str]) -> Boot {
    let mut args = vec![
        "bootstrap",
        "--database",
        db_url,
        "--account-name",
        account_name,
        "--email",
        email,
    ];
    args.extend_from_slice(extra);
    Boot::from_json(&cli_json(&args))
}
