//! `finalizeAttendance`: closes an attendance. The survey is requested when its service has one
//! and the finalize is not part of a bulk action (item 6); the aggregate applies that rule, this
//! use case only looks up the service's flag. Once finalized, the contact's open key on the
//! account and channel is released, so their next message opens a new attendance.

use domain::attendance::{AttendanceCommand, Finalize};
use uuid::Uuid;

use super::open_keys;
use super::support::person;
use super::visibility::require_visible;
use crate::admin::services;
use crate::context::CommandContext;
use crate::error::CommandResult;
use crate::store::execute;
use crate::Commands;

/// Finalizes `attendance_id`; `bulk` when part of `finalizeAttendances` (never a survey).
pub async fn finalize(
    c: &Commands,
    ctx: &CommandContext,
    attendance_id: Uuid,
    reason: Option<String>,
    bulk: bool,
) -> CommandResult<()> {
    let actor = person(ctx)?;
    let seen = require_visible(&c.pool, &ctx.actor, attendance_id).await?;
    let survey_enabled = match seen.service_id {
        Some(id) => services::get(&c.pool, id)
            .await?
            .is_some_and(|s| s.survey_enabled),
        None => false,
    };
    let command = AttendanceCommand::Finalize(Finalize {
        actor,
        reason,
        survey_enabled,
        bulk,
        at: ctx.now,
    });
    execute(&c.attendances, attendance_id, command, ctx).await?;
    open_keys::release(&c.pool, attendance_id).await
}
