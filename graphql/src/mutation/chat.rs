//! Chat mutations (item 8): send (text and/or files), mark a conversation read, and delete a
//! message I sent (not in the contract; the signed URLs of its files stop working).

use async_graphql::{Context, Object, Upload};
use commands::chat::send::{AttachmentLimits, NewAttachment, NewChatMessage};
use commands::chat::{delete, mark_read, send};
use commands::CommandError;
use uuid::Uuid;

use crate::auth::{self, command_context};
use crate::error::{gql, ApiResult, IntoGql};
use crate::state::ApiState;
use crate::types::chat::AgentChatMessage;
use crate::uploads::read_limited;

#[derive(Default)]
pub struct ChatMutation;

#[Object]
impl ChatMutation {
    /// Text and/or up to 10 files of at most 20 MiB each, to another active agent. Images are
    /// recognised by content; other files are served as downloads.
    async fn send_agent_chat_message(
        &self,
        ctx: &Context<'_>,
        to_agent_id: Uuid,
        text: Option<String>,
        attachments: Option<Vec<Upload>>,
    ) -> ApiResult<AgentChatMessage> {
        let actor = auth::actor(ctx)?;
        auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let settings = state.settings();
        let limits = AttachmentLimits {
            max_files: settings.max_files,
            max_bytes: settings.max_attachment_bytes,
        };
        let uploads = attachments.unwrap_or_default();
        // Count first: reading eleven 20 MiB files to refuse them would be wasted work.
        domain::chat::check_attachment_count(uploads.len(), limits.max_files)
            .map_err(|e| gql(CommandError::from(e)))?;
        let mut files = Vec::with_capacity(uploads.len());
        for (i, upload) in uploads.iter().enumerate() {
            let (file_name, bytes) =
                read_limited(ctx, upload, &format!("attachments.{i}"), limits.max_bytes)?;
            files.push(NewAttachment { file_name, bytes });
        }
        let c = command_context(ctx, actor);
        let input = NewChatMessage {
            to_agent_id,
            text,
            attachments: files,
        };
        let row = send::send_message(state.pool(), &c, input, limits)
            .await
            .gql()?;
        Ok(row.into())
    }

    /// Marks everything from that agent read; returns how many were unread.
    async fn mark_agent_chat_read(&self, ctx: &Context<'_>, with_agent_id: Uuid) -> ApiResult<i32> {
        let actor = auth::actor(ctx)?;
        auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let n = mark_read::mark_read(state.pool(), &command_context(ctx, actor), with_agent_id)
            .await
            .gql()?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// Deletes a message I sent, for both sides; its files' URLs stop working. Not in the
    /// contract.
    async fn delete_agent_chat_message(&self, ctx: &Context<'_>, id: Uuid) -> ApiResult<bool> {
        let actor = auth::actor(ctx)?;
        auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        delete::delete_message(state.pool(), &command_context(ctx, actor), id)
            .await
            .gql()?;
        Ok(true)
    }
}
