//! The audit log: one append-only, hash-chained row per mutation, written in the mutation's own transaction.

use serde_json::Value;
use uuid::Uuid;

use super::Scope;
use crate::Result;
use crate::db::Tx;

/// Records `action` (e.g. `contact.created`) on an entity. `changes` holds the changed fields, never secrets.
pub async fn record(
    tx: &mut Tx,
    scope: &Scope,
    action: &str,
    entity_type: &str,
    entity_id: Option<Uuid>,
    changes: Value,
) -> Result<()> {
    sqlx::query!(
        "insert into audit_log (id, org_id, actor_id, action, entity_type, entity_id, request_id, changes, prev_hash, hash)
         values ($1, $2, $3, $4, $5, $6, $7, $8, '', '')",
        Uuid::now_v7(),
        scope.org_id.0,
        scope.user_id.0,
        action,
        entity_type,
        entity_id,
        scope.request_id,
        changes,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An entry as read back by admins.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub id: Uuid,
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<Uuid>,
    pub changes: Value,
}

/// The newest entries of the scope's workspace, newest first.
pub async fn recent(pool: &sqlx::PgPool, scope: &Scope, limit: i64) -> Result<Vec<Entry>> {
    scope.require(crate::policy::Action::ReadAuditLog)?;
    let mut tx = scope.begin(pool).await?;
    let rows = sqlx::query_as!(
        Entry,
        "select id, seq, at, actor_id, action, entity_type, entity_id, changes from audit_log
         where org_id = $1 order by seq desc limit $2",
        scope.org_id.0,
        limit.clamp(1, 500),
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}
