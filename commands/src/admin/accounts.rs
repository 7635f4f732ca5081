//! Accounts: the tenants of the contact center, each with its time zone (the day of its
//! counters) and the default service inbound attendances go to.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::catalogue::{parse_name, parse_timezone, DEFAULT_TIMEZONE};
use domain::validation::ValidationErrors;
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::audit::{self, action};
use super::require_admin;
use crate::context::CommandContext;
use crate::error::CommandResult;

const COLUMNS: &str = "id, name, timezone, default_service_id, created_at, created_by";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRow {
    pub id: Uuid,
    pub name: String,
    /// An IANA name, checked when stored.
    pub timezone: String,
    pub default_service_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

impl AccountRow {
    /// The account's time zone (the stored name was checked on the way in).
    pub fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(Tz::America__Sao_Paulo)
    }
}

/// `createAccount`'s input.
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub name: String,
    /// None: [`DEFAULT_TIMEZONE`].
    pub timezone: Option<String>,
}

/// Creates an account (ADMIN). VALIDATION on `name` or `timezone`.
pub async fn create(
    pool: &PgPool,
    ctx: &CommandContext,
    input: NewAccount,
) -> CommandResult<AccountRow> {
    require_admin(ctx)?;
    let mut errors = ValidationErrors::default();
    let name = errors.check("name", parse_name(&input.name));
    let tz = errors.check(
        "timezone",
        parse_timezone(input.timezone.as_deref().unwrap_or(DEFAULT_TIMEZONE)),
    );
    errors.into_result()?;
    let (Some(name), Some(tz)) = (name, tz) else {
        unreachable!("checked above")
    };

    let mut tx = pool.begin().await?;
    let row: AccountRow = sqlx::query_as(&format!(
        "INSERT INTO accounts (id, name, timezone, created_at, created_by) VALUES ($1, $2, $3, $4, $5)
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(&name)
    .bind(tz.name())
    .bind(ctx.now)
    .bind(ctx.actor.audit_name())
    .fetch_one(&mut *tx)
    .await?;
    audit::record(&mut tx, ctx, action::ACCOUNT_CREATED, Some(row.id), &row).await?;
    tx.commit().await?;
    Ok(row)
}

/// One account, if it exists.
pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> CommandResult<Option<AccountRow>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM accounts WHERE id = $1"))
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// The accounts among `ids` that exist (any order).
pub async fn get_many(db: impl PgExecutor<'_>, ids: &[Uuid]) -> CommandResult<Vec<AccountRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM accounts WHERE id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(db)
    .await?)
}

/// Every account, by name.
pub async fn list(db: impl PgExecutor<'_>) -> CommandResult<Vec<AccountRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM accounts ORDER BY lower(name), name, id"
    ))
    .fetch_all(db)
    .await?)
}
