//! Pause reasons: why an agent stops receiving attendances (lunch, training...), shared by every
//! account.

use chrono::{DateTime, Utc};
use domain::catalogue::parse_name;
use domain::validation::ValidationErrors;
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::audit::{self, action};
use super::{duplicate, require_admin};
use crate::context::CommandContext;
use crate::error::CommandResult;

const COLUMNS: &str = "id, name, created_at, created_by";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PauseReasonRow {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// Creates a pause reason (ADMIN). VALIDATION on `name`; CONFLICT when one of that name exists
/// (case-insensitive).
pub async fn create(
    pool: &PgPool,
    ctx: &CommandContext,
    name: &str,
) -> CommandResult<PauseReasonRow> {
    require_admin(ctx)?;
    let name = parse_name(name).map_err(|e| ValidationErrors::from(e.under("name")))?;
    let mut tx = pool.begin().await?;
    let row: Option<PauseReasonRow> = sqlx::query_as(&format!(
        "INSERT INTO pause_reasons (id, name, created_at, created_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(&name)
    .bind(ctx.now)
    .bind(ctx.actor.audit_name())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        let existing =
            sqlx::query_scalar("SELECT id FROM pause_reasons WHERE lower(name) = lower($1)")
                .bind(&name)
                .fetch_optional(&mut *tx)
                .await?;
        return Err(duplicate("a pause reason", &name, existing));
    };
    audit::record(
        &mut tx,
        ctx,
        action::PAUSE_REASON_CREATED,
        Some(row.id),
        &row,
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// One pause reason, if it exists.
pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> CommandResult<Option<PauseReasonRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM pause_reasons WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// The pause reasons among `ids` that exist (any order).
pub async fn get_many(db: impl PgExecutor<'_>, ids: &[Uuid]) -> CommandResult<Vec<PauseReasonRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM pause_reasons WHERE id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(db)
    .await?)
}

/// Every pause reason, by name.
pub async fn list(db: impl PgExecutor<'_>) -> CommandResult<Vec<PauseReasonRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM pause_reasons ORDER BY lower(name), name, id"
    ))
    .fetch_all(db)
    .await?)
}
