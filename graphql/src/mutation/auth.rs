//! Login, logout, password and image changes, pauses: the agent area (item 12).

use async_graphql::{Context, Object, Upload};
use commands::agents::{change_password, presence};
use uuid::Uuid;

use crate::auth::{self, command_context};
use crate::error::{gql, ApiResult, IntoGql};
use crate::state::ApiState;
use crate::types::agent::{Agent, Session};
use commands::{Actor, CommandError};

#[derive(Default)]
pub struct AuthMutation;

async fn fresh_agent(ctx: &Context<'_>, id: Uuid) -> ApiResult<Agent> {
    let state = ctx.data_unchecked::<ApiState>();
    state
        .projector()
        .wait_for_stream("Agent", &id.to_string())
        .await
        .map_err(crate::error::internal)?;
    Agent::load(ctx, id)
        .await?
        .ok_or_else(|| gql(CommandError::not_found("agent")))
}

#[Object]
impl AuthMutation {
    /// RATE_LIMITED after repeated failures for one e-mail or address.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> ApiResult<Session> {
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, Actor::System);
        let done = presence::login(state.commands(), &c, &email, password, &auth::address(ctx))
            .await
            .gql()?;
        fresh_agent(ctx, done.agent_id).await?;
        Ok(Session {
            token: done.token,
            expires_at: done.expires_at,
            agent_id: done.agent_id,
        })
    }

    /// Ends this session; attendances IN_PROGRESS with me become PENDING with me.
    async fn logout(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let (id, _, session) = auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let Some(session) = session else {
            return Ok(false);
        };
        let c = command_context(ctx, auth::actor(ctx)?);
        presence::logout(state.commands(), &c, id, session)
            .await
            .gql()?;
        fresh_agent(ctx, id).await?;
        Ok(true)
    }

    /// FORBIDDEN while settings.allowPasswordChange is false. Ends my other sessions.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> ApiResult<bool> {
        let (id, _, session) = auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, auth::actor(ctx)?);
        change_password::change_password(
            state.commands(),
            &c,
            id,
            session,
            current_password,
            new_password,
        )
        .await
        .gql()?;
        fresh_agent(ctx, id).await?;
        Ok(true)
    }

    /// FORBIDDEN while settings.allowImageChange is false. PNG, JPEG or WebP, at most 5 MiB.
    async fn change_image(&self, ctx: &Context<'_>, image: Upload) -> ApiResult<Agent> {
        let (id, _, _) = auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, auth::actor(ctx)?);
        let file = crate::uploads::read_image(ctx, image)?;
        commands::agents::image::change_image(state.commands(), &c, id, file)
            .await
            .gql()?;
        fresh_agent(ctx, id).await
    }

    /// Starts a pause, or changes the reason of the running one.
    async fn start_pause(&self, ctx: &Context<'_>, reason_id: Uuid) -> ApiResult<Agent> {
        let (id, _, _) = auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, auth::actor(ctx)?);
        presence::start_pause(state.commands(), &c, id, reason_id)
            .await
            .gql()?;
        fresh_agent(ctx, id).await
    }

    async fn end_pause(&self, ctx: &Context<'_>) -> ApiResult<Agent> {
        let (id, _, _) = auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, auth::actor(ctx)?);
        presence::end_pause(state.commands(), &c, id).await.gql()?;
        fresh_agent(ctx, id).await
    }
}
