//! The router's use case: give a WAITING attendance to an agent it chose.
//!
//! The choice (who is available, under their limit, the portfolio agent first) is the router's
//! (`projections::routing::router`), made under its lock on fresh counts; this use case only
//! records it. The aggregate refuses an attendance that is no longer WAITING, so two routers
//! that raced on one attendance cannot both assign it.

use domain::attendance::{Assign, AttendanceCommand};
use uuid::Uuid;

use crate::context::CommandContext;
use crate::error::CommandResult;
use crate::store::execute;
use crate::Commands;

/// Assigns `attendance_id` to `agent_id` at `ctx.now` (AttendanceAssigned).
pub async fn assign(
    c: &Commands,
    ctx: &CommandContext,
    attendance_id: Uuid,
    agent_id: Uuid,
) -> CommandResult<()> {
    let command = AttendanceCommand::Assign(Assign {
        agent_id,
        at: ctx.now,
    });
    execute(&c.attendances, attendance_id, command, ctx).await
}
