//! `markPending` (item 6): the agent parks an attendance in progress; it stays with them as
//! PENDING until rescued.

use domain::attendance::{AttendanceCommand, MarkPending};
use uuid::Uuid;

use super::support::person;
use super::visibility::require_visible;
use crate::context::CommandContext;
use crate::error::CommandResult;
use crate::store::execute;
use crate::Commands;

/// Marks `attendance_id` PENDING with the calling agent.
pub async fn mark_pending(
    c: &Commands,
    ctx: &CommandContext,
    attendance_id: Uuid,
) -> CommandResult<()> {
    let actor = person(ctx)?;
    require_visible(&c.pool, &ctx.actor, attendance_id).await?;
    let command = AttendanceCommand::MarkPending(MarkPending { actor, at: ctx.now });
    execute(&c.attendances, attendance_id, command, ctx).await
}
