//! Reading the audit log: the v1 and v2 listings and the change feed, each inside the account
//! the gate let the caller into. Entries are written by the store's write methods (see
//! [`crate::audit`]); retention is enforced by [`Portcullis::prune_audit_log`].

use crate::audit::{AuditEntries, AuditPage, AuditQuery};
use crate::error::CoreResult;
use crate::service::access::Authorized;
use crate::service::Portcullis;
use crate::time::Timestamp;

/// How many entries one pruning statement deletes (a large backlog is deleted in batches, so
/// no transaction holds the writer long).
const PRUNE_BATCH: u32 = 1000;

impl Portcullis {
    /// Entries of the caller's account matching `query`.
    pub async fn audit_log(
        &self,
        auth: &Authorized,
        query: &AuditQuery,
    ) -> CoreResult<AuditEntries> {
        self.store().list_audit(auth.account(), query).await
    }

    /// `GET /user/audit_logs`: the caller's own entries (their profile, their own tokens, their
    /// answers to their memberships). For users; an account-owned token has no user log.
    pub async fn user_audit_log(
        &self,
        principal: &crate::auth::Principal,
        query: &AuditQuery,
    ) -> CoreResult<AuditEntries> {
        let Some(user) = principal.user() else {
            return Err(crate::error::CoreError::Invalid {
                pointer: None,
                message: "the user audit log is a user's own: an account-owned token has none (read the account's at /accounts/{account_id}/audit_logs)".into(),
            });
        };
        self.store().list_user_audit(&user.id, query).await
    }

    /// The change feed: up to `limit` successful changes after the one at `after` (`None`:
    /// from the oldest kept), oldest first, and the cursor to pass next time: the last change
    /// returned, or `after` itself when nothing is new (so a cursor is stable while nothing
    /// changes). Refused requests are not changes and never appear.
    pub async fn iam_changes(
        &self,
        auth: &Authorized,
        after: Option<i64>,
        limit: u32,
    ) -> CoreResult<(AuditEntries, i64)> {
        let query = AuditQuery {
            only_changes: true,
            ascending: true,
            page: AuditPage::After { after, limit },
            ..AuditQuery::default()
        };
        let page = self.store().list_audit(auth.account(), &query).await?;
        let next = page.entries.last().map(|e| e.seq).or(after).unwrap_or(0);
        Ok((page, next))
    }

    /// Deletes entries older than `retention_secs`; returns how many. Runs in batches until a
    /// batch finds fewer than it may delete.
    pub async fn prune_audit_log(&self, retention_secs: i64) -> CoreResult<u64> {
        let before = Timestamp::now().plus_seconds(-retention_secs);
        let mut total = 0;
        loop {
            let n = self.store().prune_audit(before, PRUNE_BATCH).await?;
            total += n;
            if n < u64::from(PRUNE_BATCH) {
                return Ok(total);
            }
        }
    }
}
