//! Presence use cases: login, logout, session expiry, pauses.

use chrono::{DateTime, Utc};
use domain::agent::{AgentCommand, EndPause, LogIn, LogOut, LogoutReason, StartPause};
use sqlx::Row;
use uuid::Uuid;

use crate::auth::{rate_limit, sessions};
use crate::context::{Actor, CommandContext};
use crate::error::{CommandError, CommandResult};
use crate::passwords::{dummy_hash, verify_password};
use crate::store::execute;
use crate::Commands;

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub agent_id: Uuid,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// The same answer for an unknown e-mail and a wrong password: the error never tells which.
fn bad_credentials() -> CommandError {
    CommandError::Unauthenticated("invalid e-mail or password".into())
}

/// `login`: throttled per e-mail and per address (an attempt counts from before its password is
/// checked); opens a session and records AgentLoggedIn.
pub async fn login(
    c: &Commands,
    ctx: &CommandContext,
    email: &str,
    password: String,
    address: &str,
) -> CommandResult<LoggedIn> {
    let email = email.trim().to_lowercase();
    let attempt = rate_limit::begin(&c.pool, &email, address, ctx.now).await?;
    let row = sqlx::query("SELECT id, password_hash, active FROM agents WHERE email = $1")
        .bind(&email)
        .fetch_optional(&c.pool)
        .await?;
    let (agent_id, hash, active) = match &row {
        Some(r) => (
            Some(r.try_get::<Uuid, _>("id")?),
            r.try_get::<String, _>("password_hash")?,
            r.try_get::<bool, _>("active")?,
        ),
        None => (None, dummy_hash().await, false),
    };
    let verified = verify_password(password, hash).await;
    let Some(agent_id) = agent_id.filter(|_| verified) else {
        rate_limit::fail(attempt);
        return Err(bad_credentials());
    };
    rate_limit::forget(&c.pool, attempt).await?;
    if !active {
        return Err(CommandError::forbidden("this agent is deactivated"));
    }
    let session =
        sessions::open_session(&c.pool, agent_id, ctx.now, c.settings.session_ttl, address).await?;
    let ctx = CommandContext {
        actor: Actor::Agent {
            id: agent_id,
            role: domain::kinds::Role::Agent,
            session_id: Some(session.id),
        },
        ..ctx.clone()
    };
    if let Err(e) = execute(
        &c.agents,
        agent_id,
        AgentCommand::LogIn(LogIn {
            session_id: session.id,
            at: ctx.now,
        }),
        &ctx,
    )
    .await
    {
        sessions::end_session(c, session.id, ctx.now, "FAILED").await?;
        return Err(e);
    }
    rate_limit::clear(&c.pool, &email).await?;
    Ok(LoggedIn {
        agent_id,
        token: session.token,
        expires_at: session.expires_at,
    })
}

/// `logout`: ends this session and records AgentLoggedOut.
pub async fn logout(
    c: &Commands,
    ctx: &CommandContext,
    agent_id: Uuid,
    session_id: Uuid,
) -> CommandResult<()> {
    end_session_with_reason(c, ctx, agent_id, session_id, LogoutReason::Manual).await
}

/// Ends a session for a reason (manual, expiry) and records it on the agent.
pub async fn end_session_with_reason(
    c: &Commands,
    ctx: &CommandContext,
    agent_id: Uuid,
    session_id: Uuid,
    reason: LogoutReason,
) -> CommandResult<()> {
    let reason_text = match reason {
        LogoutReason::Manual => "MANUAL",
        LogoutReason::Expired => "EXPIRED",
        LogoutReason::PasswordChanged => "PASSWORD_CHANGED",
        LogoutReason::Deactivated => "DEACTIVATED",
    };
    sessions::end_session(c, session_id, ctx.now, reason_text).await?;
    execute(
        &c.agents,
        agent_id,
        AgentCommand::LogOut(LogOut {
            session_id,
            reason,
            at: ctx.now,
        }),
        ctx,
    )
    .await
}

/// Ends every session past its expiry (a background job calls this periodically).
pub async fn expire_sessions(c: &Commands) -> CommandResult<usize> {
    let now = c.clock.now();
    let expired = sessions::expired_sessions(&c.pool, now).await?;
    for (session_id, agent_id) in &expired {
        let ctx = CommandContext::system(now);
        end_session_with_reason(c, &ctx, *agent_id, *session_id, LogoutReason::Expired).await?;
    }
    Ok(expired.len())
}

/// `startPause`: starts a pause, or changes the running one's reason.
pub async fn start_pause(
    c: &Commands,
    ctx: &CommandContext,
    agent_id: Uuid,
    reason_id: Uuid,
) -> CommandResult<()> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pause_reasons WHERE id = $1)")
            .bind(reason_id)
            .fetch_one(&c.pool)
            .await?;
    if !exists {
        return Err(CommandError::not_found("pause reason"));
    }
    execute(
        &c.agents,
        agent_id,
        AgentCommand::StartPause(StartPause {
            reason_id,
            at: ctx.now,
        }),
        ctx,
    )
    .await
}

/// `endPause`.
pub async fn end_pause(c: &Commands, ctx: &CommandContext, agent_id: Uuid) -> CommandResult<()> {
    execute(
        &c.agents,
        agent_id,
        AgentCommand::EndPause(EndPause { at: ctx.now }),
        ctx,
    )
    .await
}
