//! Chat between agents (item 8): send, mark read, delete, and the reads the API and the
//! subscription need. Messages are plain rows (`migrations/0007_agent_chat.sql`), not events:
//! the rules live in [`domain::chat`], and every read is scoped to the calling agent.
//!
//! # Layout
//! - [`send`]: a message with text and/or attachments to another active agent.
//! - [`mark_read`]: everything from one agent to me, read.
//! - [`delete`]: the sender deletes a message; its attachment URLs stop working.
//! - [`read`]: rows as the API shows them (conversation pages, chat list, replay, attachments).

pub mod delete;
pub mod mark_read;
pub mod read;
pub mod send;

use domain::chat::ChatError;

use crate::error::CommandError;

/// The PostgreSQL channel a new message's id is notified on (by a trigger on insert).
pub const NOTIFY_CHANNEL: &str = "agent_chat";

impl From<ChatError> for CommandError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::Invalid(v) => CommandError::Validation(v),
            e @ ChatError::LimitExceeded { .. } => CommandError::LimitExceeded(e.to_string()),
        }
    }
}

/// The calling agent, or FORBIDDEN for integrations and the system.
fn caller(ctx: &crate::CommandContext) -> Result<uuid::Uuid, CommandError> {
    ctx.actor
        .agent_id()
        .ok_or_else(|| CommandError::forbidden("the chat is between agents"))
}
