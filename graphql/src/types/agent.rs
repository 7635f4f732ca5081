//! Agents as the contract shows them: `Agent` (myself, administration), `AgentSummary` (others),
//! `ActivePause`, `Session`.

use async_graphql::{ComplexObject, Context, Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};
use projections::agents::read::AgentRow;
use uuid::Uuid;

use crate::error::{internal, ApiResult};
use crate::state::ApiState;
use crate::types::catalogue::{PauseReason, Role, Service};

/// The contract's PresenceStatus.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PresenceStatus {
    Offline,
    Online,
    Paused,
}

impl PresenceStatus {
    fn from_stored(s: &str) -> Self {
        match domain::kinds::PresenceStatus::parse(s) {
            Some(domain::kinds::PresenceStatus::Online) => Self::Online,
            Some(domain::kinds::PresenceStatus::Paused) => Self::Paused,
            _ => Self::Offline,
        }
    }
}

/// A full agent.
#[derive(Clone)]
pub struct Agent(pub AgentRow);

impl Agent {
    /// Loads an agent by id (None when unknown).
    pub async fn load(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Agent>> {
        let state = ctx.data_unchecked::<ApiState>();
        Ok(projections::agents::read::get(state.pool(), id)
            .await
            .map_err(internal)?
            .map(Agent))
    }
}

fn image_url(ctx: &Context<'_>, sha: &Option<String>) -> Option<String> {
    let state = ctx.data_unchecked::<ApiState>();
    sha.as_ref().map(|s| crate::files::signed_url(state, s))
}

async fn connected(ctx: &Context<'_>, id: Uuid) -> bool {
    let state = ctx.data_unchecked::<ApiState>();
    state.connections().is_connected(state.pool(), id).await
}

#[Object]
impl Agent {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn role(&self) -> Role {
        Role::from_stored(&self.0.role)
    }
    async fn image_url(&self, ctx: &Context<'_>) -> Option<String> {
        image_url(ctx, &self.0.image_sha256)
    }
    async fn services(&self, ctx: &Context<'_>) -> ApiResult<Vec<Service>> {
        Service::load_many(ctx, &self.0.service_ids).await
    }
    async fn max_concurrent(&self) -> i32 {
        self.0.max_concurrent
    }
    async fn presence(&self) -> PresenceStatus {
        PresenceStatus::from_stored(&self.0.presence)
    }
    async fn pause(&self, ctx: &Context<'_>) -> ApiResult<Option<ActivePause>> {
        let (Some(reason_id), Some(since)) = (self.0.pause_reason_id, self.0.pause_since) else {
            return Ok(None);
        };
        let reason = PauseReason::load(ctx, reason_id).await?;
        Ok(reason.map(|reason| ActivePause { reason, since }))
    }
    /// Start of the current login session.
    async fn logged_in_since(&self) -> Option<DateTime<Utc>> {
        self.0.logged_in_since
    }
    /// Seconds logged in during the current session, pauses included.
    async fn logged_seconds(&self, ctx: &Context<'_>) -> i32 {
        let now = ctx.data_unchecked::<ApiState>().clock().now();
        self.0
            .logged_in_since
            .map(|since| i32::try_from((now - since).num_seconds().max(0)).unwrap_or(i32::MAX))
            .unwrap_or(0)
    }
    /// Whether any websocket of this agent is connected now.
    async fn connected(&self, ctx: &Context<'_>) -> bool {
        connected(ctx, self.0.id).await
    }
}

/// Another agent, as the chat and attendances show them.
#[derive(Clone)]
pub struct AgentSummary(pub AgentRow);

impl AgentSummary {
    pub async fn load(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<AgentSummary>> {
        Ok(Agent::load(ctx, id).await?.map(|a| AgentSummary(a.0)))
    }
}

#[Object]
impl AgentSummary {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn image_url(&self, ctx: &Context<'_>) -> Option<String> {
        image_url(ctx, &self.0.image_sha256)
    }
    async fn presence(&self) -> PresenceStatus {
        PresenceStatus::from_stored(&self.0.presence)
    }
    async fn connected(&self, ctx: &Context<'_>) -> bool {
        connected(ctx, self.0.id).await
    }
}

#[derive(SimpleObject, Clone)]
pub struct ActivePause {
    pub reason: PauseReason,
    pub since: DateTime<Utc>,
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    #[graphql(skip)]
    pub agent_id: Uuid,
}

#[ComplexObject]
impl Session {
    async fn agent(&self, ctx: &Context<'_>) -> ApiResult<Agent> {
        Agent::load(ctx, self.agent_id)
            .await?
            .ok_or_else(|| crate::error::gql(commands::CommandError::not_found("agent")))
    }
}
