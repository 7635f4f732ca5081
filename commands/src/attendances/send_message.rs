//! `sendMessage`: the agent the attendance is with writes to the customer — free text while the
//! WhatsApp Business API window is open, an approved template of the account and channel at any
//! time. A repeated idempotencyKey returns the first message and sends nothing.

use domain::attendance::{AttendanceCommand, OutboundMessage, SendAgentMessage};
use uuid::Uuid;

use super::idempotency;
use super::support::{outbound_content, person, MessageInput};
use super::visibility::require_visible_with_window;
use crate::context::CommandContext;
use crate::error::{CommandError, CommandResult};
use crate::store::execute;
use crate::Commands;

/// Sends a message in `attendance_id`; returns the message's id.
pub async fn send_message(
    c: &Commands,
    ctx: &CommandContext,
    attendance_id: Uuid,
    input: MessageInput,
    idempotency_key: Option<&str>,
) -> CommandResult<Uuid> {
    let actor = person(ctx)?;
    let (seen, window) = require_visible_with_window(&c.pool, &ctx.actor, attendance_id).await?;
    let content = outbound_content(&c.pool, seen.account_id, seen.channel, &input, "").await?;
    let message_id = Uuid::new_v4();
    let key = idempotency_key.map(idempotency::parse_key).transpose()?;
    if let Some(key) = &key {
        let first = idempotency::claim_message(
            &c.pool,
            actor.agent_id,
            key,
            message_id,
            attendance_id,
            ctx.now,
        )
        .await?;
        match first {
            Some((first_message, first_attendance)) if first_attendance == attendance_id => {
                return Ok(first_message)
            }
            Some(_) => {
                return Err(CommandError::Conflict {
                    message: "this idempotencyKey was used for another attendance".into(),
                    existing_id: None,
                })
            }
            None => {}
        }
    }
    let message = OutboundMessage {
        message_id,
        content,
        attachments: input.attachments,
    };
    let command = AttendanceCommand::SendAgentMessage(SendAgentMessage {
        actor,
        message,
        window,
        at: ctx.now,
    });
    let result = execute(&c.attendances, attendance_id, command, ctx).await;
    if let (Err(_), Some(key)) = (&result, &key) {
        idempotency::release_message(&c.pool, actor.agent_id, key, message_id).await?;
    }
    result.map(|()| message_id)
}
