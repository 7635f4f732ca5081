//! `transferAttendance`: to a service queue (back to WAITING there) or straight to an agent;
//! exactly one target. The use case looks up whether the target serves the attendance's account
//! (and, for an agent, is active); the aggregate decides who may transfer and refuses the rest.

use domain::attendance::{AttendanceCommand, Transfer, TransferTarget};
use uuid::Uuid;

use super::support::person;
use super::visibility::require_visible;
use crate::admin::services;
use crate::context::CommandContext;
use crate::error::{CommandError, CommandResult};
use crate::store::execute;
use crate::Commands;

/// Transfers `attendance_id` to `to_service_id` or `to_agent_id` (exactly one).
pub async fn transfer(
    c: &Commands,
    ctx: &CommandContext,
    attendance_id: Uuid,
    to_service_id: Option<Uuid>,
    to_agent_id: Option<Uuid>,
) -> CommandResult<()> {
    let actor = person(ctx)?;
    let seen = require_visible(&c.pool, &ctx.actor, attendance_id).await?;
    let to = match (to_service_id, to_agent_id) {
        (Some(service_id), None) => {
            let service = services::get(&c.pool, service_id)
                .await?
                .ok_or_else(|| CommandError::field("toServiceId", "does not exist"))?;
            TransferTarget::Service {
                service_id,
                same_account: service.account_id == seen.account_id,
            }
        }
        (None, Some(agent_id)) => {
            let agent: Option<(bool, bool)> = sqlx::query_as(
                "SELECT a.active, EXISTS (SELECT 1 FROM services s WHERE s.id = ANY(a.service_ids) AND s.account_id = $2)
                   FROM agents a WHERE a.id = $1",
            )
            .bind(agent_id)
            .bind(seen.account_id)
            .fetch_optional(&c.pool)
            .await?;
            let (active, same_account) =
                agent.ok_or_else(|| CommandError::field("toAgentId", "does not exist"))?;
            TransferTarget::Agent {
                agent_id,
                same_account,
                active,
            }
        }
        _ => {
            return Err(CommandError::field(
                "toServiceId",
                "give exactly one of toServiceId or toAgentId",
            ))
        }
    };
    let command = AttendanceCommand::Transfer(Transfer {
        actor,
        to,
        at: ctx.now,
    });
    execute(&c.attendances, attendance_id, command, ctx).await
}
