//! Chat between agents as the contract shows it: `AgentChat`, `AgentChatMessage` and its
//! connection. Files are the contract's one `Attachment` type ([`crate::types::attendance`]),
//! signed by [`crate::attachments`].

use std::sync::Arc;

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};
use commands::chat::read::{ChatAttachmentRow, ChatMessageRow, ChatSummary, MessageKey};
use commands::CommandError;
use uuid::Uuid;

use crate::error::{gql, ApiResult};
use crate::state::ApiState;
use crate::types::agent::AgentSummary;
use crate::types::attendance::Attachment;
use crate::types::connection::{connection, encode_cursor};

/// A chat attachment as the contract's `Attachment`, with a URL that also stops working when
/// its message is deleted.
fn attachment(state: &ApiState, row: &ChatAttachmentRow) -> Attachment {
    Attachment {
        id: row.id,
        file_name: row.file_name.clone(),
        content_type: row.content_type.clone(),
        size: u64::try_from(row.size).unwrap_or(0),
        sha256: Some(row.sha256.clone()),
        signed_url: Some(crate::attachments::signed_url(state, row.id)),
    }
}

async fn agent(ctx: &Context<'_>, id: Uuid) -> ApiResult<AgentSummary> {
    AgentSummary::load(ctx, id)
        .await?
        .ok_or_else(|| gql(CommandError::not_found("agent")))
}

/// One chat message (shared cheaply between the subscribers it is broadcast to).
#[derive(Clone, Debug)]
pub struct AgentChatMessage(pub Arc<ChatMessageRow>);

impl AgentChatMessage {
    /// The opaque cursor of this message: its (at, id) sort key.
    pub fn cursor(&self) -> String {
        let key: MessageKey = (self.0.at, self.0.id);
        encode_cursor(&key)
    }
}

impl From<ChatMessageRow> for AgentChatMessage {
    fn from(row: ChatMessageRow) -> Self {
        Self(Arc::new(row))
    }
}

#[Object]
impl AgentChatMessage {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn from(&self, ctx: &Context<'_>) -> ApiResult<AgentSummary> {
        agent(ctx, self.0.from_agent_id).await
    }
    async fn to(&self, ctx: &Context<'_>) -> ApiResult<AgentSummary> {
        agent(ctx, self.0.to_agent_id).await
    }
    async fn text(&self) -> Option<&str> {
        self.0.text.as_deref()
    }
    async fn attachments(&self, ctx: &Context<'_>) -> Vec<Attachment> {
        let state = ctx.data_unchecked::<ApiState>();
        self.0
            .attachments
            .iter()
            .map(|a| attachment(state, a))
            .collect()
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// When the recipient marked it read.
    async fn read_at(&self) -> Option<DateTime<Utc>> {
        self.0.read_at
    }
}

connection!(
    AgentChatMessageConnection,
    AgentChatMessageEdge,
    AgentChatMessage
);

/// One conversation of mine.
pub struct AgentChat(pub ChatSummary);

#[Object]
impl AgentChat {
    async fn with_agent(&self, ctx: &Context<'_>) -> ApiResult<AgentSummary> {
        agent(ctx, self.0.with_agent_id).await
    }
    async fn last_message(&self) -> Option<AgentChatMessage> {
        Some(self.0.last_message.clone().into())
    }
    /// Messages from that agent I have not marked read.
    async fn unread_count(&self) -> i32 {
        i32::try_from(self.0.unread_count).unwrap_or(i32::MAX)
    }
}
