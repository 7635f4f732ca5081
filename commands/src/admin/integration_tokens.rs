//! Integration tokens: the bearer tokens of channel gateways and flow engines (role
//! INTEGRATION). The token is shown once; only its hash is stored.

use domain::catalogue::parse_name;
use domain::validation::ValidationErrors;
use uuid::Uuid;

use sqlx::PgPool;

use super::audit::{self, action};
use super::{duplicate, require_admin};
use crate::context::CommandContext;
use crate::error::CommandResult;
use crate::tokens::{new_token, token_hash};

/// Creates a token named `name` (ADMIN) and returns it. VALIDATION on `name`; CONFLICT when a
/// token of that name exists. The name is what event metadata records (`integration:<name>`).
/// The token and its audit record are written in one transaction.
pub async fn create(pool: &PgPool, ctx: &CommandContext, name: &str) -> CommandResult<String> {
    require_admin(ctx)?;
    let name = parse_name(name).map_err(|e| ValidationErrors::from(e.under("name")))?;
    let token = new_token();
    let id = Uuid::new_v4();
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO integration_tokens (id, name, token_hash, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
    )
    .bind(id)
    .bind(&name)
    .bind(token_hash(&token))
    .bind(ctx.actor.audit_name())
    .bind(ctx.now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        let existing = sqlx::query_scalar("SELECT id FROM integration_tokens WHERE name = $1")
            .bind(&name)
            .fetch_optional(&mut *tx)
            .await?;
        return Err(duplicate("an integration token", &name, existing));
    }
    audit::record(
        &mut tx,
        ctx,
        action::INTEGRATION_TOKEN_CREATED,
        Some(id),
        serde_json::json!({ "name": name }),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}
