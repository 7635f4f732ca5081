//! Reads the use cases need about agents and references: which services exist, the panel
//! settings that gate self-service changes.

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::CommandResult;

/// The ids among `ids` that name no service.
pub async fn unknown_services(pool: &PgPool, ids: &[Uuid]) -> CommandResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let known: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM services WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(pool)
        .await?;
    Ok(ids
        .iter()
        .filter(|id| !known.contains(id))
        .copied()
        .collect())
}

/// (allow_password_change, allow_image_change) of the panel settings.
pub async fn self_service_settings(pool: &PgPool) -> CommandResult<(bool, bool)> {
    let row: (bool, bool) =
        sqlx::query_as("SELECT allow_password_change, allow_image_change FROM panel_settings")
            .fetch_one(pool)
            .await?;
    Ok(row)
}

/// Whether an agent id is registered (read model).
pub async fn agent_exists(pool: &PgPool, id: Uuid) -> CommandResult<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM agents WHERE id = $1)")
            .bind(id)
            .fetch_one(pool)
            .await?,
    )
}
