//! `me` (items 1 and 12) and `agents` (item 8's agent picker).

use async_graphql::{Context, Object};

use crate::auth;
use crate::error::{gql, internal, ApiResult};
use crate::state::ApiState;
use crate::types::agent::{Agent, AgentSummary};
use commands::CommandError;

/// Most agents listed by the picker at once.
const AGENTS_LIST_MAX: i64 = 200;

#[derive(Default)]
pub struct MeQuery;

#[Object]
impl MeQuery {
    /// The logged-in agent (item 1, 12).
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<Agent> {
        let (id, _, _) = auth::agent(ctx)?;
        Agent::load(ctx, id)
            .await?
            .ok_or_else(|| gql(CommandError::not_found("agent")))
    }

    /// Other agents, for the agent chat (item 8).
    async fn agents(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
    ) -> ApiResult<Vec<AgentSummary>> {
        let (id, _, _) = auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let folded = search
            .as_deref()
            .map(domain::values::search::fold)
            .filter(|s| !s.is_empty());
        let rows =
            projections::agents::read::search(state.pool(), id, folded.as_deref(), AGENTS_LIST_MAX)
                .await
                .map_err(internal)?;
        Ok(rows.into_iter().map(AgentSummary).collect())
    }
}
