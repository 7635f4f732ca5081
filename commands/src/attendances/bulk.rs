//! `rescueAttendances` / `finalizeAttendances` (item 6): 1 to
//! [`MAX_BULK`](domain::attendance::rules::MAX_BULK) distinct ids, checked before anything
//! changes; then each attendance is its own aggregate, so each id gets its own outcome and one
//! refusal does not undo the others. A bulk finalize never requests the survey.
//!
//! The ids are looked up, decided and committed together ([`execute_each`]): a few statements
//! and one commit for the 50, not 50 times the single use case's.

use std::collections::HashMap;

use domain::attendance::rules::check_bulk;
use domain::attendance::{Attendance, AttendanceCommand, Finalize, Rescue};
use uuid::Uuid;

use super::open_keys;
use super::support::person;
use super::visibility::{visible_many, Seen};
use crate::admin::services;
use crate::context::CommandContext;
use crate::error::{CommandError, CommandResult};
use crate::store::execute_each;
use crate::Commands;

/// Why one id of a bulk action failed, in the contract's codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkFailure {
    pub attendance_id: Uuid,
    pub code: &'static str,
    pub message: String,
}

/// The outcome of a bulk action, in the order the ids were given (duplicates dropped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkOutcome {
    pub succeeded: Vec<Uuid>,
    pub failed: Vec<BulkFailure>,
}

impl BulkOutcome {
    /// The outcome of each of `ids`, in order: NOT_FOUND for one the caller may not see, else
    /// the next of `results` (one per visible id, in the same order).
    fn of(ids: &[Uuid], visible: &HashMap<Uuid, Seen>, results: Vec<CommandResult<()>>) -> Self {
        let mut results = results.into_iter();
        let mut outcome = Self::default();
        for &id in ids {
            let result = if visible.contains_key(&id) {
                results
                    .next()
                    .unwrap_or_else(|| Err(CommandError::Internal(anyhow::anyhow!("no outcome"))))
            } else {
                Err(CommandError::not_found("attendance"))
            };
            outcome.record(id, result);
        }
        outcome
    }

    fn record(&mut self, id: Uuid, result: CommandResult<()>) {
        match result {
            Ok(()) => self.succeeded.push(id),
            Err(e) => {
                let message = match &e {
                    // Infrastructure failures are logged, never shown (as in graphql/src/error.rs).
                    CommandError::Internal(cause) => {
                        tracing::error!(error = %format!("{cause:#}"), attendance_id = %id, "bulk action failed");
                        "internal error".to_string()
                    }
                    other => other.to_string(),
                };
                self.failed.push(BulkFailure {
                    attendance_id: id,
                    code: e.code(),
                    message,
                });
            }
        }
    }
}

/// Rescues each of `ids`.
pub async fn rescue_many(
    c: &Commands,
    ctx: &CommandContext,
    ids: &[Uuid],
) -> CommandResult<BulkOutcome> {
    let ids = check_bulk(ids)?;
    let actor = person(ctx)?;
    let visible = visible_many(&c.pool, &ctx.actor, &ids).await?;
    let commands = ids
        .iter()
        .filter(|id| visible.contains_key(id))
        .map(|id| {
            (
                *id,
                AttendanceCommand::Rescue(Rescue { actor, at: ctx.now }),
            )
        })
        .collect();
    let results = together(c, ctx, commands).await;
    Ok(BulkOutcome::of(&ids, &visible, results))
}

/// Finalizes each of `ids`, never requesting the survey; their open keys are released.
pub async fn finalize_many(
    c: &Commands,
    ctx: &CommandContext,
    ids: &[Uuid],
    reason: Option<String>,
) -> CommandResult<BulkOutcome> {
    let ids = check_bulk(ids)?;
    let actor = person(ctx)?;
    let visible = visible_many(&c.pool, &ctx.actor, &ids).await?;
    let mut service_ids: Vec<Uuid> = visible.values().filter_map(|s| s.service_id).collect();
    service_ids.sort_unstable();
    service_ids.dedup();
    let surveys: HashMap<Uuid, bool> = services::get_many(&c.pool, &service_ids)
        .await?
        .into_iter()
        .map(|s| (s.id, s.survey_enabled))
        .collect();
    let commands = ids
        .iter()
        .filter_map(|id| Some((*id, visible.get(id)?)))
        .map(|(id, seen)| {
            let command = AttendanceCommand::Finalize(Finalize {
                actor,
                reason: reason.clone(),
                survey_enabled: seen
                    .service_id
                    .and_then(|s| surveys.get(&s).copied())
                    .unwrap_or(false),
                bulk: true,
                at: ctx.now,
            });
            (id, command)
        })
        .collect();
    let results = together(c, ctx, commands).await;
    let outcome = BulkOutcome::of(&ids, &visible, results);
    open_keys::release_many(&c.pool, &outcome.succeeded).await?;
    Ok(outcome)
}

/// Runs one command per attendance together ([`execute_each`]): outcomes in the same order.
async fn together(
    c: &Commands,
    ctx: &CommandContext,
    commands: Vec<(Uuid, AttendanceCommand)>,
) -> Vec<CommandResult<()>> {
    execute_each(
        &c.attendances,
        &c.attendance_store,
        commands,
        Attendance::decide,
        ctx,
    )
    .await
}
