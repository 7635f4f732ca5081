//! The logout use case: an attendance IN_PROGRESS with an agent who went offline becomes
//! PENDING with them, so nothing is dropped (the spec's "logout → pending" rule).
//!
//! Run by the logout reactor (`projections::routing::logout`) for each attendance its to-do
//! list names. The list may be stale (the agent finalized, or a second reactor got there
//! first), so an attendance that is no longer IN_PROGRESS with that agent is answered with
//! "nothing to do" rather than an error: the reactor deletes the to-do instead of retrying it
//! forever.

use domain::attendance::{AttendanceCommand, ParkOnLogout};
use uuid::Uuid;

use crate::context::CommandContext;
use crate::error::{CommandError, CommandResult};
use crate::store::execute;
use crate::Commands;

/// What a park did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parked {
    /// The attendance is now PENDING with the agent.
    Parked,
    /// It was not IN_PROGRESS with this agent (any more): nothing to do.
    NothingToDo,
}

/// Parks `attendance_id` with `agent_id` (AttendanceMarkedPending with `by_logout`).
/// Errors are only those worth a retry: a concurrent write (CONFLICT) or the database.
pub async fn park_on_logout(
    c: &Commands,
    ctx: &CommandContext,
    attendance_id: Uuid,
    agent_id: Uuid,
) -> CommandResult<Parked> {
    let command = AttendanceCommand::ParkOnLogout(ParkOnLogout {
        agent_id,
        at: ctx.now,
    });
    match execute(&c.attendances, attendance_id, command, ctx).await {
        Ok(()) => Ok(Parked::Parked),
        // Not IN_PROGRESS, or with another agent, or never opened: the to-do is stale.
        Err(
            CommandError::InvalidState(_) | CommandError::Forbidden(_) | CommandError::NotFound(_),
        ) => Ok(Parked::NothingToDo),
        Err(e) => Err(e),
    }
}
