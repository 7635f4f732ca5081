//! Services: the human queues of an account, each with its survey flag; one of them may be the
//! account's default, where inbound attendances go when the gateway names none.

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

const COLUMNS: &str = "id, account_id, name, survey_enabled, created_at, created_by";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRow {
    pub id: Uuid,
    pub account_id: Uuid,
    pub name: String,
    /// Finalizing an attendance of this service requests the satisfaction survey.
    pub survey_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// `createService`'s input.
#[derive(Debug, Clone)]
pub struct NewService {
    pub account_id: Uuid,
    pub name: String,
    pub survey_enabled: bool,
    /// Make it the account's default service (replacing the previous one).
    pub default: bool,
}

/// Creates a service (ADMIN). VALIDATION on `name` or `accountId` (no such account); CONFLICT
/// when the account has a service of that name (case-insensitive).
pub async fn create(
    pool: &PgPool,
    ctx: &CommandContext,
    input: NewService,
) -> CommandResult<ServiceRow> {
    require_admin(ctx)?;
    let name = parse_name(&input.name).map_err(|e| ValidationErrors::from(e.under("name")))?;

    let mut tx = pool.begin().await?;
    lock_account(&mut tx, input.account_id).await?;
    let row: Option<ServiceRow> = sqlx::query_as(&format!(
        "INSERT INTO services (id, account_id, name, survey_enabled, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(input.account_id)
    .bind(&name)
    .bind(input.survey_enabled)
    .bind(ctx.now)
    .bind(ctx.actor.audit_name())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        let existing = sqlx::query_scalar(
            "SELECT id FROM services WHERE account_id = $1 AND lower(name) = lower($2)",
        )
        .bind(input.account_id)
        .bind(&name)
        .fetch_optional(&mut *tx)
        .await?;
        return Err(duplicate("a service", &name, existing));
    };
    audit::record(
        &mut tx,
        ctx,
        action::SERVICE_CREATED,
        Some(row.id),
        serde_json::json!({ "service": &row, "default": input.default }),
    )
    .await?;
    if input.default {
        // The account row is locked since `lock_account`: nobody else switches it meanwhile.
        let previous: Option<Uuid> =
            sqlx::query_scalar("SELECT default_service_id FROM accounts WHERE id = $1")
                .bind(input.account_id)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query("UPDATE accounts SET default_service_id = $2 WHERE id = $1")
            .bind(input.account_id)
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            ctx,
            action::ACCOUNT_DEFAULT_SERVICE_CHANGED,
            Some(input.account_id),
            serde_json::json!({ "defaultServiceId": row.id, "previousDefaultServiceId": previous }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(row)
}

/// One service, if it exists.
pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> CommandResult<Option<ServiceRow>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM services WHERE id = $1"))
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// The services among `ids` that exist, by name.
pub async fn get_many(db: impl PgExecutor<'_>, ids: &[Uuid]) -> CommandResult<Vec<ServiceRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM services WHERE id = ANY($1) ORDER BY lower(name), name, id"
    ))
    .bind(ids)
    .fetch_all(db)
    .await?)
}

/// The ids among `ids` that name no service (to reject references, e.g. an agent's services).
pub async fn missing(db: impl PgExecutor<'_>, ids: &[Uuid]) -> CommandResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT i FROM unnest($1::uuid[]) WITH ORDINALITY AS t(i, n)
          WHERE NOT EXISTS (SELECT 1 FROM services s WHERE s.id = t.i) ORDER BY n",
    )
    .bind(ids)
    .fetch_all(db)
    .await?)
}

/// The services of one account, or of every account, by name.
pub async fn list(
    db: impl PgExecutor<'_>,
    account_id: Option<Uuid>,
) -> CommandResult<Vec<ServiceRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM services WHERE ($1::uuid IS NULL OR account_id = $1) ORDER BY lower(name), name, id"
    ))
    .bind(account_id)
    .fetch_all(db)
    .await?)
}

/// The account's default service, if it has one.
pub async fn default_of(
    db: impl PgExecutor<'_>,
    account_id: Uuid,
) -> CommandResult<Option<ServiceRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM services WHERE id = (SELECT default_service_id FROM accounts WHERE id = $1)"
    ))
    .bind(account_id)
    .fetch_optional(db)
    .await?)
}
