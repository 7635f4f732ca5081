//! The catalogue the Admin Panel configures: accounts, services, settings, pause reasons, tags, classifications, templates.
//!
//! The catalogue is plain tables, not event-sourced: each change is one transaction that writes
//! the row and its [`audit`] record together, so no change goes unrecorded. Every write is for
//! administrators only (checked here as well as in the API); reads are for anyone the API lets
//! in. The rules (name lengths, time zones, colours, template bodies) live in
//! [`domain::catalogue`] and [`domain::values::TemplateBody`].
//!
//! # Layout
//! - [`accounts`], [`services`] (with the account's default service), [`settings`],
//!   [`pause_reasons`], [`tags`], [`classifications`], [`templates`]: one file per area, each
//!   with its row type, its reads and its `create`/`update`.
//! - [`integration_tokens`]: tokens for channel gateways and flow engines.
//! - [`audit`]: the `admin_audit` trail.

pub mod accounts;
pub mod audit;
pub mod classifications;
pub mod integration_tokens;
pub mod pause_reasons;
pub mod services;
pub mod settings;
pub mod tags;
pub mod templates;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::context::CommandContext;
use crate::error::{CommandError, CommandResult};

/// FORBIDDEN unless the actor is an administrator (or the server itself).
pub(crate) fn require_admin(ctx: &CommandContext) -> CommandResult<()> {
    if ctx.actor.is_admin() {
        Ok(())
    } else {
        Err(CommandError::forbidden(
            "only administrators may change the catalogue",
        ))
    }
}

/// VALIDATION on `accountId` unless the account exists. Takes the account's row lock, so that
/// changes of one account's catalogue (its default service) are applied one at a time.
pub(crate) async fn lock_account(conn: &mut PgConnection, account_id: Uuid) -> CommandResult<()> {
    let found: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1 FOR UPDATE")
            .bind(account_id)
            .fetch_optional(conn)
            .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(CommandError::field("accountId", "no account has this id")),
    }
}

/// CONFLICT naming the existing record.
pub(crate) fn duplicate(what: &str, name: &str, existing_id: Option<Uuid>) -> CommandError {
    CommandError::Conflict {
        message: format!("{what} named {name:?} already exists"),
        existing_id,
    }
}
