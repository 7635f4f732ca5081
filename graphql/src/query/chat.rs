//! Chat queries (item 8): my conversations and one conversation's messages. Always scoped to
//! the caller: there is no way to name someone else's conversation.

use async_graphql::{Context, Object};
use commands::chat::read::{self, MessageKey};
use uuid::Uuid;

use crate::auth;
use crate::error::{internal, ApiResult};
use crate::state::ApiState;
use crate::types::chat::{AgentChat, AgentChatMessageConnection};
use crate::types::connection::{decode_cursor, page_size};

#[derive(Default)]
pub struct ChatQuery;

#[Object]
impl ChatQuery {
    /// One entry per agent I have messages with; the most recent conversation first.
    async fn agent_chats(&self, ctx: &Context<'_>) -> ApiResult<Vec<AgentChat>> {
        let (me, _, _) = auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let chats = read::chats(state.pool(), me).await.map_err(internal)?;
        Ok(chats.into_iter().map(AgentChat).collect())
    }

    /// My conversation with one agent, newest message first. `pageInfo.hasNextPage` says older
    /// messages exist; pass `pageInfo.endCursor` as `before` to get them.
    async fn agent_chat_messages(
        &self,
        ctx: &Context<'_>,
        with_agent_id: Uuid,
        #[graphql(default = 50)] first: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<AgentChatMessageConnection> {
        let (me, _, _) = auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let first = page_size(first.unwrap_or(50))?;
        let before: Option<MessageKey> = before
            .as_deref()
            .map(|c| decode_cursor("before", c))
            .transpose()?;
        let rows = read::conversation(state.pool(), me, with_agent_id, before, first + 1)
            .await
            .map_err(internal)?;
        let total = read::conversation_count(state.pool(), me, with_agent_id)
            .await
            .map_err(internal)?;
        let rows = rows
            .into_iter()
            .map(|row| {
                let m = crate::types::chat::AgentChatMessage::from(row);
                (m.cursor(), m)
            })
            .collect();
        Ok(AgentChatMessageConnection::from_rows(
            rows,
            first,
            before.is_some(),
            total,
        ))
    }
}
