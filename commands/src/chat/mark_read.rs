//! Marking a conversation read: every unread message from one agent to me.

use sqlx::PgPool;
use uuid::Uuid;

use super::caller;
use crate::error::CommandResult;
use crate::CommandContext;

/// Marks everything `from` sent me read (at the context's time); returns how many were unread.
/// Naming an agent I have no messages from simply marks nothing.
pub async fn mark_read(pool: &PgPool, ctx: &CommandContext, from: Uuid) -> CommandResult<u64> {
    let me = caller(ctx)?;
    let done = sqlx::query(
        "UPDATE agent_chat_messages SET read_at = $3 \
         WHERE to_agent_id = $1 AND from_agent_id = $2 AND read_at IS NULL AND deleted_at IS NULL",
    )
    .bind(me)
    .bind(from)
    .bind(ctx.now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
