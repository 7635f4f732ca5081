//! `rescueAttendance` (items 6 and 7): the agent resumes one of their pending attendances.

use domain::attendance::{AttendanceCommand, Rescue};
use uuid::Uuid;

use super::support::person;
use super::visibility::require_visible;
use crate::context::CommandContext;
use crate::error::CommandResult;
use crate::store::execute;
use crate::Commands;

/// Moves `attendance_id` from PENDING back to IN_PROGRESS with the calling agent.
pub async fn rescue(c: &Commands, ctx: &CommandContext, attendance_id: Uuid) -> CommandResult<()> {
    let actor = person(ctx)?;
    require_visible(&c.pool, &ctx.actor, attendance_id).await?;
    let command = AttendanceCommand::Rescue(Rescue { actor, at: ctx.now });
    execute(&c.attendances, attendance_id, command, ctx).await
}
