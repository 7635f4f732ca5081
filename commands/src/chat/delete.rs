//! Deleting a chat message: only its sender may; it disappears from both sides of the
//! conversation and its attachments' signed URLs stop working at once. The row stays (with
//! `deleted_at`) so that a URL handed out before can be told apart from a forged one.

use sqlx::PgPool;
use uuid::Uuid;

use super::{caller, read};
use crate::error::{CommandError, CommandResult};
use crate::CommandContext;

/// Deletes message `id`. NOT_FOUND unless I sent or received it; FORBIDDEN when I received it.
/// Deleting it again changes nothing.
pub async fn delete_message(pool: &PgPool, ctx: &CommandContext, id: Uuid) -> CommandResult<()> {
    let me = caller(ctx)?;
    let message = read::get(pool, me, id)
        .await?
        .ok_or_else(|| CommandError::not_found("chat message"))?;
    if message.from_agent_id != me {
        return Err(CommandError::forbidden(
            "only the sender may delete a message",
        ));
    }
    sqlx::query(
        "UPDATE agent_chat_messages SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(ctx.now)
    .execute(pool)
    .await?;
    Ok(())
}
