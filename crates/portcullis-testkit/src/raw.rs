//! Raw HTTP/1.1 (for the body-limit test, where a normal client may lose the early answer).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// Sends `head` (request line + headers, which must include `Expect: 100-continue` and a
/// Content-Length), then the body only if the server asks for it with `100 Continue`, and
/// returns the final response. Blocking; fine in a test because the server is another process.
pub fn raw_http_expect_continue(base: &str, head: &str, body: &[u8]) -> RawResponse {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream.write_all(head.as_bytes()).expect("write head");
    let mut buf: Vec<u8> = Vec::new();
    let mut sent_body = false;
    let mut writer: Option<std::thread::JoinHandle<()>> = None;
    loop {
        let (head_end, status) = loop {
            if let Some(pos) = find(&buf, b"\r\n\r\n") {
                let head_text = String::from_utf8_lossy(&buf[..pos]).to_string();
                let status = head_text
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse::<u16>().ok())
                    .unwrap_or(0);
                break (pos + 4, status);
            }
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk) {
                Ok(0) => panic!(
                    "connection closed before a response head; got {:?}",
                    String::from_utf8_lossy(&buf)
                ),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => panic!(
                    "read failed before a response head ({e}); got {:?}",
                    String::from_utf8_lossy(&buf)
                ),
            }
        };
        if status == 100 && !sent_body {
            buf.drain(..head_end);
            sent_body = true;
            let mut w = stream.try_clone().expect("clone stream");
            let owned = body.to_vec();
            writer = Some(std::thread::spawn(move || {
                let _ = w.write_all(&owned);
            }));
            continue;
        }
        let head_text = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let content_length = head_text.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            if k.trim().eq_ignore_ascii_case("content-length") {
                v.trim().parse::<usize>().ok()
            } else {
                None
            }
        });
        let mut rest = buf[head_end..].to_vec();
        let mut chunk = [0u8; 8192];
        while content_length.is_none_or(|n| rest.len() < n) {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => rest.extend_from_slice(&chunk[..n]),
            }
        }
        drop(stream);
        if let Some(w) = writer {
            let _ = w.join();
        }
        return RawResponse {
            status,
            head: head_text,
            body: String::from_utf8_lossy(&rest).to_string(),
        };
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
