//! `rescueAttendances` / `finalizeAttendances` (item 6): 1 to
//! [`MAX_BULK`](domain::attendance::rules::MAX_BULK) distinct ids, checked before anything
//! changes; then each attendance is its own aggregate, so each id gets its own outcome and one
//! refusal does not undo the others. A bulk finalize never requests the survey.

use domain::attendance::rules::check_bulk;
use uuid::Uuid;

use super::{finalize, rescue};
use crate::context::CommandContext;
use crate::error::{CommandError, CommandResult};
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
    let mut outcome = BulkOutcome::default();
    for id in ids {
        outcome.record(id, rescue::rescue(c, ctx, id).await);
    }
    Ok(outcome)
}

/// Finalizes each of `ids`, never requesting the survey.
pub async fn finalize_many(
    c: &Commands,
    ctx: &CommandContext,
    ids: &[Uuid],
    reason: Option<String>,
) -> CommandResult<BulkOutcome> {
    let ids = check_bulk(ids)?;
    let mut outcome = BulkOutcome::default();
    for id in ids {
        outcome.record(
            id,
            finalize::finalize(c, ctx, id, reason.clone(), true).await,
        );
    }
    Ok(outcome)
}
