//! The Agent Panel's settings: one row for the deployment, read by the permission checks of
//! counters, image changes and password changes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};

use super::audit::{self, action};
use super::require_admin;
use crate::context::CommandContext;
use crate::error::CommandResult;

const COLUMNS: &str =
    "show_statistics, allow_image_change, allow_password_change, updated_at, updated_by";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsRow {
    /// Agents (role AGENT) may see their counters.
    pub show_statistics: bool,
    /// Agents may change their own image.
    pub allow_image_change: bool,
    /// Agents may change their own password.
    pub allow_password_change: bool,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// `updateSettings`'s input: None leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsPatch {
    pub show_statistics: Option<bool>,
    pub allow_image_change: Option<bool>,
    pub allow_password_change: Option<bool>,
}

/// The settings (the row is created by the migrations).
pub async fn get(db: impl PgExecutor<'_>) -> CommandResult<SettingsRow> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM panel_settings"))
            .fetch_one(db)
            .await?,
    )
}

/// Changes the settings given (ADMIN); returns them all.
pub async fn update(
    pool: &PgPool,
    ctx: &CommandContext,
    patch: SettingsPatch,
) -> CommandResult<SettingsRow> {
    require_admin(ctx)?;
    let mut tx = pool.begin().await?;
    let row: SettingsRow = sqlx::query_as(&format!(
        "UPDATE panel_settings SET
            show_statistics = COALESCE($1, show_statistics),
            allow_image_change = COALESCE($2, allow_image_change),
            allow_password_change = COALESCE($3, allow_password_change),
            updated_at = $4, updated_by = $5
         RETURNING {COLUMNS}"
    ))
    .bind(patch.show_statistics)
    .bind(patch.allow_image_change)
    .bind(patch.allow_password_change)
    .bind(ctx.now)
    .bind(ctx.actor.audit_name())
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        ctx,
        action::SETTINGS_UPDATED,
        None,
        serde_json::json!({ "changes": &patch, "settings": &row }),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}
