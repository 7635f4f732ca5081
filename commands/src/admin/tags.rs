//! Tags: labels an account's agents put on contacts, each with an optional colour.

use chrono::{DateTime, Utc};
use domain::catalogue::{parse_color, parse_name};
use domain::validation::ValidationErrors;
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::audit::{self, action};
use super::{duplicate, lock_account, require_admin};
use crate::context::CommandContext;
use crate::error::CommandResult;

const COLUMNS: &str = "id, account_id, name, color, created_at, created_by";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagRow {
    pub id: Uuid,
    pub account_id: Uuid,
    pub name: String,
    /// `#RRGGBB`.
    pub color: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// `createTag`'s input.
#[derive(Debug, Clone)]
pub struct NewTag {
    pub account_id: Uuid,
    pub name: String,
    pub color: Option<String>,
}

/// Creates a tag (ADMIN). VALIDATION on `name`, `color` or `accountId`; CONFLICT when the
/// account has a tag of that name (case-insensitive).
pub async fn create(pool: &PgPool, ctx: &CommandContext, input: NewTag) -> CommandResult<TagRow> {
    require_admin(ctx)?;
    let mut errors = ValidationErrors::default();
    let name = errors.check("name", parse_name(&input.name));
    let color = errors.check("color", parse_color(input.color.as_deref()));
    errors.into_result()?;
    let (Some(name), Some(color)) = (name, color) else {
        unreachable!("checked above")
    };

    let mut tx = pool.begin().await?;
    lock_account(&mut tx, input.account_id).await?;
    let row: Option<TagRow> = sqlx::query_as(&format!(
        "INSERT INTO tags (id, account_id, name, color, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(input.account_id)
    .bind(&name)
    .bind(&color)
    .bind(ctx.now)
    .bind(ctx.actor.audit_name())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        let existing = sqlx::query_scalar(
            "SELECT id FROM tags WHERE account_id = $1 AND lower(name) = lower($2)",
        )
        .bind(input.account_id)
        .bind(&name)
        .fetch_optional(&mut *tx)
        .await?;
        return Err(duplicate("a tag", &name, existing));
    };
    audit::record(&mut tx, ctx, action::TAG_CREATED, Some(row.id), &row).await?;
    tx.commit().await?;
    Ok(row)
}

/// One tag, if it exists.
pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> CommandResult<Option<TagRow>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM tags WHERE id = $1"))
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// The tags among `ids` that exist, by name (a contact's tags).
pub async fn get_many(db: impl PgExecutor<'_>, ids: &[Uuid]) -> CommandResult<Vec<TagRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM tags WHERE id = ANY($1) ORDER BY lower(name), name, id"
    ))
    .bind(ids)
    .fetch_all(db)
    .await?)
}

/// The tags of one account, by name.
pub async fn list(db: impl PgExecutor<'_>, account_id: Uuid) -> CommandResult<Vec<TagRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM tags WHERE account_id = $1 ORDER BY lower(name), name, id"
    ))
    .bind(account_id)
    .fetch_all(db)
    .await?)
}
