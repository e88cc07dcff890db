//! `portcullis-dns-fixture`: a tiny authoritative DNS server (UDP) for tests.
//!
//! `portcullis-dns-fixture --listen 127.0.0.1:0 --records FILE` prints `listening on udp://ADDR`
//! and answers TXT queries from FILE, re-read on every query so a test changes answers by
//! rewriting it. FILE is JSON: `{"example.com": ["txt value", …], "broken.example": "SERVFAIL"}`;
//! a string value is a response code to answer with (`SERVFAIL`, `REFUSED`) or `TIMEOUT` (no
//! answer). Names not in the file get NXDOMAIN. Names match case-insensitively.

use std::io::Write;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, Record, RecordType};
use serde_json::Value;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

enum Answer {
    Txt(Vec<String>),
    Code(ResponseCode),
    Silence,
}

fn answer_for(records: &str, name: &str) -> Answer {
    let file: Value = std::fs::read_to_string(records)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let wanted = name.trim_end_matches('.').to_lowercase();
    let entry = file
        .as_object()
        .and_then(|m| {
            m.iter()
                .find(|(k, _)| k.trim_end_matches('.').to_lowercase() == wanted)
        })
        .map(|(_, v)| v.clone());
    match entry {
        None => Answer::Code(ResponseCode::NXDomain),
        Some(Value::String(code)) => match code.as_str() {
            "TIMEOUT" => Answer::Silence,
            "REFUSED" => Answer::Code(ResponseCode::Refused),
            _ => Answer::Code(ResponseCode::ServFail),
        },
        Some(Value::Array(values)) => Answer::Txt(
            values
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        Some(_) => Answer::Code(ResponseCode::ServFail),
    }
}

fn respond(records: &str, packet: &[u8]) -> Option<Vec<u8>> {
    let request = Message::from_vec(packet).ok()?;
    let mut response = Message::new();
    response
        .set_id(request.id())
        .set_message_type(MessageType::Response)
        .set_op_code(request.op_code())
        .set_recursion_desired(request.recursion_desired())
        .set_recursion_available(true)
        .set_authoritative(true);
    response.add_queries(request.queries().to_vec());
    let query = request.queries().first()?;
    match answer_for(records, &query.name().to_ascii()) {
        Answer::Silence => return None,
        Answer::Code(code) => {
            response.set_response_code(code);
        }
        Answer::Txt(values) => {
            response.set_response_code(ResponseCode::NoError);
            if query.query_type() == RecordType::TXT {
                for v in values {
                    response.add_answer(Record::from_rdata(
                        query.name().clone(),
                        1,
                        RData::TXT(TXT::new(vec![v])),
                    ));
                }
            }
        }
    }
    response.to_vec().ok()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let listen = arg("--listen").unwrap_or_else(|| "127.0.0.1:0".into());
    let Some(records) = arg("--records") else {
        eprintln!("usage: portcullis-dns-fixture --listen ADDR --records FILE");
        std::process::exit(2);
    };
    let socket = tokio::net::UdpSocket::bind(&listen).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on udp://{}", socket.local_addr()?)?;
    out.flush()?;
    drop(out);
    let mut buf = vec![0u8; 4096];
    loop {
        let (n, peer) = socket.recv_from(&mut buf).await?;
        if let Some(reply) = respond(&records, &buf[..n]) {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}
