//! Classifications: the one category an account's agents give a contact.

use chrono::{DateTime, Utc};
use domain::catalogue::parse_name;
use domain::validation::ValidationErrors;
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::audit::{self, action};
use super::{duplicate, lock_account, require_admin};
use crate::context::CommandContext;
use crate::error::CommandResult;

const COLUMNS: &str = "id, account_id, name, created_at, created_by";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassificationRow {
    pub id: Uuid,
    pub account_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// Creates a classification (ADMIN). VALIDATION on `name` or `accountId`; CONFLICT when the
/// account has one of that name (case-insensitive).
pub async fn create(
    pool: &PgPool,
    ctx: &CommandContext,
    account_id: Uuid,
    name: &str,
) -> CommandResult<ClassificationRow> {
    require_admin(ctx)?;
    let name = parse_name(name).map_err(|e| ValidationErrors::from(e.under("name")))?;
    let mut tx = pool.begin().await?;
    lock_account(&mut tx, account_id).await?;
    let row: Option<ClassificationRow> = sqlx::query_as(&format!(
        "INSERT INTO classifications (id, account_id, name, created_at, created_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(account_id)
    .bind(&name)
    .bind(ctx.now)
    .bind(ctx.actor.audit_name())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        let existing = sqlx::query_scalar(
            "SELECT id FROM classifications WHERE account_id = $1 AND lower(name) = lower($2)",
        )
        .bind(account_id)
        .bind(&name)
        .fetch_optional(&mut *tx)
        .await?;
        return Err(duplicate("a classification", &name, existing));
    };
    audit::record(
        &mut tx,
        ctx,
        action::CLASSIFICATION_CREATED,
        Some(row.id),
        &row,
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// One classification, if it exists.
pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> CommandResult<Option<ClassificationRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM classifications WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// The classifications of one account, by name.
pub async fn list(
    db: impl PgExecutor<'_>,
    account_id: Uuid,
) -> CommandResult<Vec<ClassificationRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM classifications WHERE account_id = $1 ORDER BY lower(name), name, id"
    ))
    .bind(account_id)
    .fetch_all(db)
    .await?)
}
