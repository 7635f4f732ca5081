//! `changePassword`: only while the settings allow it; checks the current password; ends the
//! agent's other sessions.

use domain::agent::{rules, AgentCommand, ChangePassword};
use uuid::Uuid;

use crate::agents::lookup::self_service_settings;
use crate::auth::sessions::end_other_sessions;
use crate::context::CommandContext;
use crate::error::{CommandError, CommandResult};
use crate::passwords::{hash_password, verify_password};
use crate::store::execute;
use crate::Commands;

pub async fn change_password(
    c: &Commands,
    ctx: &CommandContext,
    agent_id: Uuid,
    session_id: Option<Uuid>,
    current_password: String,
    new_password: String,
) -> CommandResult<()> {
    let (allowed, _) = self_service_settings(&c.pool).await?;
    if !allowed {
        return Err(CommandError::forbidden(
            "password change is disabled by the administrator",
        ));
    }
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM agents WHERE id = $1")
        .bind(agent_id)
        .fetch_optional(&c.pool)
        .await?
        .ok_or_else(|| CommandError::not_found("agent"))?;
    if !verify_password(current_password, stored).await {
        return Err(CommandError::field(
            "currentPassword",
            "is not the current password",
        ));
    }
    rules::check_password_policy(&new_password)
        .map_err(|e| CommandError::Validation(e.under("newPassword").into()))?;
    let new_password_hash = hash_password(new_password).await?;
    let command = AgentCommand::ChangePassword(ChangePassword {
        new_password_hash,
        current_session_id: session_id,
        allowed_by_settings: allowed,
        at: ctx.now,
    });
    execute(&c.agents, agent_id, command, ctx).await?;
    end_other_sessions(c, agent_id, session_id, ctx.now, "PASSWORD_CHANGED").await?;
    Ok(())
}
