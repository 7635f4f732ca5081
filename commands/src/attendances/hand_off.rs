//! `handOffToService` (flow engines, integration token): an IN_FLOW attendance goes to WAITING
//! in a service queue of its own account.

use domain::attendance::{AttendanceCommand, HandOffToService};
use uuid::Uuid;

use super::visibility::seen;
use crate::admin::services;
use crate::context::{Actor, CommandContext};
use crate::error::{CommandError, CommandResult};
use crate::store::execute;
use crate::Commands;

/// Hands `attendance_id` to `service_id`'s queue.
pub async fn hand_off(
    c: &Commands,
    ctx: &CommandContext,
    attendance_id: Uuid,
    service_id: Uuid,
) -> CommandResult<()> {
    if !matches!(ctx.actor, Actor::Integration { .. } | Actor::System) {
        return Err(CommandError::forbidden(
            "this operation needs an integration token",
        ));
    }
    let seen = seen(&c.pool, attendance_id)
        .await?
        .ok_or_else(|| CommandError::not_found("attendance"))?;
    services::get(&c.pool, service_id)
        .await?
        .filter(|s| s.account_id == seen.account_id)
        .ok_or_else(|| {
            CommandError::field("serviceId", "is not a service of the attendance's account")
        })?;
    let command = AttendanceCommand::HandOffToService(HandOffToService {
        service_id,
        at: ctx.now,
    });
    execute(&c.attendances, attendance_id, command, ctx).await
}
