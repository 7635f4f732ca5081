//! Who is calling: the bearer token of the request, resolved once per request, and the guards
//! resolvers use (`actor`, `agent`, `admin`, `supervisor`, `integration`).

use async_graphql::Context;
use commands::{Actor, CommandContext, CommandError};
use domain::kinds::Role;
use uuid::Uuid;

use crate::error::{gql, ApiResult};
use crate::state::ApiState;

/// What the HTTP layer learnt about the request.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// The resolved principal; None when no or a bad token was sent.
    pub actor: Option<Actor>,
    pub correlation_id: String,
    /// The client address, for login throttling.
    pub address: String,
}

fn info<'a>(ctx: &'a Context<'_>) -> &'a RequestInfo {
    ctx.data_unchecked::<RequestInfo>()
}

/// The caller, or UNAUTHENTICATED.
pub fn actor(ctx: &Context<'_>) -> ApiResult<Actor> {
    info(ctx).actor.clone().ok_or_else(|| {
        gql(CommandError::Unauthenticated(
            "a valid bearer token is required".into(),
        ))
    })
}

/// A logged-in agent of any role: (id, role, session).
pub fn agent(ctx: &Context<'_>) -> ApiResult<(Uuid, Role, Option<Uuid>)> {
    match actor(ctx)? {
        Actor::Agent {
            id,
            role,
            session_id,
        } => Ok((id, role, session_id)),
        _ => Err(gql(CommandError::forbidden("this operation is for agents"))),
    }
}

/// An ADMIN agent.
pub fn admin(ctx: &Context<'_>) -> ApiResult<Actor> {
    let a = actor(ctx)?;
    if matches!(
        a,
        Actor::Agent {
            role: Role::Admin,
            ..
        }
    ) {
        Ok(a)
    } else {
        Err(gql(CommandError::forbidden(
            "only administrators may do this",
        )))
    }
}

/// A SUPERVISOR or ADMIN agent.
pub fn supervisor(ctx: &Context<'_>) -> ApiResult<Actor> {
    let a = actor(ctx)?;
    if matches!(
        a,
        Actor::Agent {
            role: Role::Admin | Role::Supervisor,
            ..
        }
    ) {
        Ok(a)
    } else {
        Err(gql(CommandError::forbidden(
            "only supervisors and administrators may do this",
        )))
    }
}

/// An integration token (channel gateways, flow engines).
pub fn integration(ctx: &Context<'_>) -> ApiResult<Actor> {
    let a = actor(ctx)?;
    if matches!(a, Actor::Integration { .. }) {
        Ok(a)
    } else {
        Err(gql(CommandError::forbidden(
            "this operation needs an integration token",
        )))
    }
}

/// The command context for the caller: actor, correlation id, the clock's now.
pub fn command_context(ctx: &Context<'_>, actor: Actor) -> CommandContext {
    let state = ctx.data_unchecked::<ApiState>();
    CommandContext::new(actor, info(ctx).correlation_id.clone(), state.clock().now())
}

/// The client address of the request.
pub fn address(ctx: &Context<'_>) -> String {
    info(ctx).address.clone()
}
