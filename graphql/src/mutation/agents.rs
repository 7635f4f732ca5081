//! Agent administration: `registerAgent`, `updateAgent` (ADMIN).

use async_graphql::{Context, InputObject, Object};
use commands::agents::register::{register_agent, NewAgent};
use commands::agents::update::{update_agent, AgentUpdate};
use commands::CommandError;
use uuid::Uuid;

use crate::auth::{self, command_context};
use crate::error::{gql, internal, ApiResult, IntoGql};
use crate::state::ApiState;
use crate::types::agent::Agent;
use crate::types::catalogue::Role;

#[derive(InputObject)]
pub struct RegisterAgentInput {
    pub name: String,
    pub email: String,
    pub password: String,
    #[graphql(default_with = "Some(Role::Agent)")]
    pub role: Option<Role>,
    #[graphql(default_with = "Some(Vec::new())")]
    pub service_ids: Option<Vec<Uuid>>,
    #[graphql(default_with = "Some(5)")]
    pub max_concurrent: Option<i32>,
}

#[derive(InputObject)]
pub struct UpdateAgentInput {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub service_ids: Option<Vec<Uuid>>,
    pub max_concurrent: Option<i32>,
    pub active: Option<bool>,
}

#[derive(Default)]
pub struct AgentsMutation;

async fn projected_agent(ctx: &Context<'_>, id: Uuid) -> ApiResult<Agent> {
    let state = ctx.data_unchecked::<ApiState>();
    state
        .projector()
        .wait_for_stream("Agent", &id.to_string())
        .await
        .map_err(internal)?;
    Agent::load(ctx, id)
        .await?
        .ok_or_else(|| gql(CommandError::not_found("agent")))
}

#[Object]
impl AgentsMutation {
    async fn register_agent(
        &self,
        ctx: &Context<'_>,
        input: RegisterAgentInput,
    ) -> ApiResult<Agent> {
        let actor = auth::admin(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        let new = NewAgent {
            name: input.name,
            email: input.email,
            password: input.password,
            role: input.role.unwrap_or(Role::Agent).into(),
            service_ids: input.service_ids.unwrap_or_default(),
            max_concurrent: input.max_concurrent.unwrap_or(5),
        };
        let id = register_agent(state.commands(), &c, new).await.gql()?;
        projected_agent(ctx, id).await
    }

    async fn update_agent(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateAgentInput,
    ) -> ApiResult<Agent> {
        let actor = auth::admin(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        let update = AgentUpdate {
            name: input.name,
            role: input.role.map(Into::into),
            service_ids: input.service_ids,
            max_concurrent: input.max_concurrent,
            active: input.active,
        };
        update_agent(state.commands(), &c, id, update).await.gql()?;
        projected_agent(ctx, id).await
    }
}
