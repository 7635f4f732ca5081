//! `updateAgent` (administration): name, role, services, concurrent limit, active flag.
//! Deactivating an agent ends its sessions.

use domain::agent::{AgentCommand, UpdateAgent};
use domain::kinds::Role;
use domain::validation::FieldError;
use uuid::Uuid;

use crate::agents::lookup::{agent_exists, unknown_services};
use crate::auth::sessions::end_other_sessions;
use crate::context::CommandContext;
use crate::error::{CommandError, CommandResult};
use crate::store::execute;
use crate::Commands;

/// The API's UpdateAgentInput; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AgentUpdate {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub service_ids: Option<Vec<Uuid>>,
    pub max_concurrent: Option<i32>,
    pub active: Option<bool>,
}

pub async fn update_agent(
    c: &Commands,
    ctx: &CommandContext,
    id: Uuid,
    input: AgentUpdate,
) -> CommandResult<()> {
    if !agent_exists(&c.pool, id).await? {
        return Err(CommandError::not_found("agent"));
    }
    if let Some(ids) = &input.service_ids {
        let unknown = unknown_services(&c.pool, ids).await?;
        if !unknown.is_empty() {
            return Err(CommandError::Validation(
                FieldError::new("serviceIds", format!("unknown services: {unknown:?}")).into(),
            ));
        }
    }
    let deactivating = input.active == Some(false);
    let command = AgentCommand::Update(UpdateAgent {
        name: input.name,
        role: input.role,
        service_ids: input.service_ids,
        max_concurrent: input.max_concurrent.map(|n| u32::try_from(n).unwrap_or(0)),
        active: input.active,
        at: ctx.now,
    });
    execute(&c.agents, id, command, ctx).await?;
    if deactivating {
        end_other_sessions(c, id, None, ctx.now, "DEACTIVATED").await?;
    }
    Ok(())
}
