//! `--audit-stdout`: every committed audit entry as one JSON object per line on standard
//! output, for a log shipper to forward to a SIEM. The fields are those of the v2 listing
//! (`GET /accounts/{a}/logs/audit`), flattened to the names Cloudflare's Logpush dataset uses
//! (`AccountID`, `ActionType`, …), plus `"log": "audit"` to tell these lines from the others.

use std::io::Write;

use portcullis_core::audit::{AuditRecord, AuditSink};
use serde_json::json;

/// Writes entries to standard output.
#[derive(Debug)]
pub struct StdoutSink;

/// The line of one entry.
pub fn line(r: &AuditRecord) -> String {
    json!({
        "log": "audit",
        "AuditLogID": r.id,
        "AccountID": r.account.as_ref().map(ToString::to_string),
        "ActionTimestamp": r.time.to_string(),
        "ActionType": r.action.as_str(),
        "ActionResult": if r.result { "success" } else { "failure" },
        "ActionDescription": r.description(),
        "ActorType": r.actor.kind.as_str(),
        "ActorID": r.actor.id,
        "ActorEmail": r.actor.email,
        "ActorContext": r.actor.context,
        "ActorIPAddress": r.origin.ip.map(|ip| ip.to_string()),
        "ActorTokenDetails": {"id": r.actor.token_id, "name": r.actor.token_name},
        "Interface": r.origin.interface.as_str(),
        "Raw": {
            "cf_ray_id": r.origin.request_id,
            "method": r.origin.method,
            "uri": r.origin.uri,
            "status_code": r.status.unwrap_or(200),
            "user_agent": r.origin.user_agent,
        },
        "ResourceID": r.resource_id,
        "ResourceProduct": "iam",
        "ResourceScope": r.scope.as_str(),
        "ResourceType": r.resource_type,
        "ResourceValue": {"before": r.before, "after": r.after},
    })
    .to_string()
}

impl AuditSink for StdoutSink {
    fn emit(&self, record: &AuditRecord) {
        let mut out = std::io::stdout().lock();
        // A closed standard output must not fail the write that already committed.
        let _ = writeln!(out, "{}", line(record));
        let _ = out.flush();
    }
}
