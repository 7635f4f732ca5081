//! `registerAgent` (administration) and `create-admin` (command line): reserve the e-mail,
//! hash the password, write AgentRegistered.

use domain::agent::{rules, AgentCommand, RegisterAgent};
use domain::kinds::Role;
use domain::validation::FieldError;
use domain::values::Email;
use uuid::Uuid;

use crate::agents::lookup::unknown_services;
use crate::context::CommandContext;
use crate::error::{CommandError, CommandResult};
use crate::passwords::hash_password;
use crate::store::execute;
use crate::Commands;

/// The API's RegisterAgentInput.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub name: String,
    pub email: String,
    pub password: String,
    pub role: Role,
    pub service_ids: Vec<Uuid>,
    pub max_concurrent: i32,
}

/// Registers an agent; returns its id.
pub async fn register_agent(
    c: &Commands,
    ctx: &CommandContext,
    input: NewAgent,
) -> CommandResult<Uuid> {
    rules::check_password_policy(&input.password)
        .map_err(|e| CommandError::Validation(e.under("password").into()))?;
    let unknown = unknown_services(&c.pool, &input.service_ids).await?;
    if !unknown.is_empty() {
        return Err(CommandError::Validation(
            FieldError::new("serviceIds", format!("unknown services: {unknown:?}")).into(),
        ));
    }
    let agent_id = Uuid::new_v4();
    // Reserve the e-mail first: the primary key makes concurrent registrations race safely.
    let mut email_taken_by = None;
    let normalized = Email::parse(&input.email).ok();
    if let Some(email) = &normalized {
        let reserved = sqlx::query(
            "INSERT INTO agent_emails (email, agent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(email.as_str())
        .bind(agent_id)
        .execute(&c.pool)
        .await?;
        if reserved.rows_affected() == 0 {
            email_taken_by =
                sqlx::query_scalar("SELECT agent_id FROM agent_emails WHERE email = $1")
                    .bind(email.as_str())
                    .fetch_optional(&c.pool)
                    .await?;
        }
    }
    let password_hash = hash_password(input.password).await?;
    let command = AgentCommand::Register(RegisterAgent {
        agent_id,
        name: input.name,
        email: input.email,
        email_taken_by,
        password_hash,
        role: input.role,
        service_ids: input.service_ids,
        max_concurrent: u32::try_from(input.max_concurrent).unwrap_or(0),
        at: ctx.now,
    });
    if let Err(e) = execute(&c.agents, agent_id, command, ctx).await {
        if email_taken_by.is_none() {
            sqlx::query("DELETE FROM agent_emails WHERE agent_id = $1")
                .bind(agent_id)
                .execute(&c.pool)
                .await?;
        }
        return Err(e);
    }
    Ok(agent_id)
}
