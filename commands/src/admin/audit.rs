//! The audit trail of the catalogue (`admin_audit`): who changed what, when, with the change's
//! data. Written in the same transaction as the change it records.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::context::CommandContext;
use crate::error::CommandResult;

/// The actions recorded, as stored in `admin_audit.action` (never renamed once written).
pub mod action {
    pub const ACCOUNT_CREATED: &str = "account.created";
    /// The account's default service (for inbound attendances) changed.
    pub const ACCOUNT_DEFAULT_SERVICE_CHANGED: &str = "account.default_service_changed";
    pub const SERVICE_CREATED: &str = "service.created";
    pub const SETTINGS_UPDATED: &str = "settings.updated";
    pub const PAUSE_REASON_CREATED: &str = "pause_reason.created";
    pub const TAG_CREATED: &str = "tag.created";
    pub const CLASSIFICATION_CREATED: &str = "classification.created";
    pub const TEMPLATE_CREATED: &str = "template.created";
    pub const INTEGRATION_TOKEN_CREATED: &str = "integration_token.created";
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
pub struct AuditRow {
    pub id: i64,
    /// As in event metadata: an agent id, `integration:<name>` or `system`.
    pub actor: String,
    pub action: String,
    pub entity_id: Option<Uuid>,
    pub payload: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// Records one change, inside the caller's transaction. The payload gets the request's
/// correlation id (`correlationId`) when it is a JSON object.
pub async fn record(
    conn: &mut PgConnection,
    ctx: &CommandContext,
    action: &str,
    entity_id: Option<Uuid>,
    payload: impl Serialize,
) -> CommandResult<()> {
    let mut payload = serde_json::to_value(payload).map_err(anyhow::Error::new)?;
    if let Some(map) = payload.as_object_mut() {
        map.insert("correlationId".into(), ctx.correlation_id.clone().into());
    }
    sqlx::query("INSERT INTO admin_audit (actor, action, entity_id, payload, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(ctx.actor.audit_name())
        .bind(action)
        .bind(entity_id)
        .bind(payload)
        .bind(ctx.now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every change of one entity, oldest first.
pub async fn for_entity(db: impl PgExecutor<'_>, entity_id: Uuid) -> CommandResult<Vec<AuditRow>> {
    Ok(sqlx::query_as("SELECT id, actor, action, entity_id, payload, at FROM admin_audit WHERE entity_id = $1 ORDER BY id")
        .bind(entity_id)
        .fetch_all(db)
        .await?)
}

/// The latest `limit` changes, newest first.
pub async fn recent(db: impl PgExecutor<'_>, limit: i64) -> CommandResult<Vec<AuditRow>> {
    Ok(sqlx::query_as("SELECT id, actor, action, entity_id, payload, at FROM admin_audit ORDER BY id DESC LIMIT $1")
        .bind(limit)
        .fetch_all(db)
        .await?)
}
