//! Sending a chat message: text and/or attachments to another active agent. The files are
//! stored once per content hash; the message and its attachments are inserted in one
//! transaction, whose commit notifies every server instance (trigger in the migration).

use domain::chat::{self, Recipient};
use sqlx::PgPool;
use uuid::Uuid;

use super::caller;
use super::read::{self, ChatMessageRow};
use crate::error::{CommandError, CommandResult};
use crate::files::store;
use crate::CommandContext;

/// A file as uploaded: the client's name (a label only) and its bytes.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// What the sender asks for.
#[derive(Debug, Clone)]
pub struct NewChatMessage {
    pub to_agent_id: Uuid,
    pub text: Option<String>,
    pub attachments: Vec<NewAttachment>,
}

/// The deployment's limits (the API's settings), each capped by the domain's ceiling.
#[derive(Debug, Clone, Copy)]
pub struct AttachmentLimits {
    pub max_files: usize,
    pub max_bytes: usize,
}

impl Default for AttachmentLimits {
    fn default() -> Self {
        Self {
            max_files: chat::MAX_ATTACHMENTS,
            max_bytes: chat::ATTACHMENT_MAX_BYTES,
        }
    }
}

async fn recipient(pool: &PgPool, id: Uuid) -> sqlx::Result<Recipient> {
    let active: Option<bool> = sqlx::query_scalar("SELECT active FROM agents WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(match active {
        None => Recipient::Unknown,
        Some(false) => Recipient::Inactive,
        Some(true) => Recipient::Active,
    })
}

/// Sends the message and returns it as stored.
pub async fn send_message(
    pool: &PgPool,
    ctx: &CommandContext,
    input: NewChatMessage,
    limits: AttachmentLimits,
) -> CommandResult<ChatMessageRow> {
    let from = caller(ctx)?;
    chat::check_attachment_count(input.attachments.len(), limits.max_files)?;
    for a in &input.attachments {
        chat::check_attachment_size(a.bytes.len(), limits.max_bytes)?;
    }
    let text = chat::parse_text(input.text.as_deref()).map_err(chat::ChatError::from)?;
    chat::check_not_empty(&text, input.attachments.len())?;
    chat::check_recipient(
        from,
        input.to_agent_id,
        recipient(pool, input.to_agent_id).await?,
    )?;

    let mut files = Vec::with_capacity(input.attachments.len());
    for a in &input.attachments {
        let stored = store(pool, &a.bytes, chat::sniff_content_type(&a.bytes)).await?;
        files.push((chat::file_name(&a.file_name), stored));
    }

    let id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO agent_chat_messages (id, from_agent_id, to_agent_id, text, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(from)
        .bind(input.to_agent_id)
        .bind(&text)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await?;
    for (position, (file_name, stored)) in files.iter().enumerate() {
        sqlx::query(
            "INSERT INTO agent_chat_attachments (id, message_id, position, sha256, file_name, content_type, size) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::now_v7())
        .bind(id)
        .bind(position as i32)
        .bind(&stored.sha256)
        .bind(file_name)
        .bind(&stored.content_type)
        .bind(stored.size as i64)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    tracing::debug!(message = %id, %from, to = %input.to_agent_id, files = files.len(), "agent chat message sent");
    read::get(pool, from, id)
        .await?
        .ok_or_else(|| CommandError::Internal(anyhow::anyhow!("chat message {id} vanished")))
}
