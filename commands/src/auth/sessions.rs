//! Login sessions and integration tokens: creating them, resolving a bearer token to an actor,
//! ending them. Tokens are opaque; only their SHA-256 is stored.

use chrono::{DateTime, Duration, Utc};
use domain::kinds::Role;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::context::Actor;
use crate::error::CommandResult;
use crate::tokens::{new_token, token_hash};
use crate::Commands;

/// How long a login session lasts: a working shift plus margin. Configurable per deployment.
pub const DEFAULT_SESSION_TTL: Duration = Duration::hours(12);

/// A session just opened: the token is shown to the client once.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Stores a new session for `agent_id`.
pub async fn open_session(
    pool: &PgPool,
    agent_id: Uuid,
    now: DateTime<Utc>,
    ttl: Duration,
    address: &str,
) -> CommandResult<NewSession> {
    let token = new_token();
    let id = Uuid::new_v4();
    let expires_at = now + ttl;
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, agent_id, created_at, expires_at, address)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(token_hash(&token))
    .bind(agent_id)
    .bind(now)
    .bind(expires_at)
    .bind(address)
    .execute(pool)
    .await?;
    Ok(NewSession {
        id,
        token,
        expires_at,
    })
}

/// The actor behind a bearer token, or None when it is unknown, ended, expired, or its agent
/// is inactive.
pub async fn resolve_token(
    pool: &PgPool,
    token: &str,
    now: DateTime<Utc>,
) -> CommandResult<Option<Actor>> {
    let bearer = resolve_bearer(pool, &token_hash(token), now).await?;
    Ok(bearer.and_then(|b| b.actor_at(now)))
}

/// What a bearer token's hash stands for: an open session of an active agent (until it
/// expires), or an integration token not revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bearer {
    actor: Actor,
    /// A session's end; None for an integration token.
    expires_at: Option<DateTime<Utc>>,
}

impl Bearer {
    /// The actor, if the bearer is still valid at `now`.
    pub fn actor_at(&self, now: DateTime<Utc>) -> Option<Actor> {
        match self.expires_at {
            Some(end) if end <= now => None,
            _ => Some(self.actor.clone()),
        }
    }
}

/// The bearer whose token has SHA-256 `hash`, if it is valid at `now`.
pub async fn resolve_bearer(
    pool: &PgPool,
    hash: &[u8],
    now: DateTime<Utc>,
) -> CommandResult<Option<Bearer>> {
    // One round trip for both kinds of bearer: an agent's session or an integration's token.
    // (session or token id, agent, role, integration name, session expiry)
    type Row = (
        Uuid,
        Option<Uuid>,
        Option<String>,
        Option<String>,
        Option<DateTime<Utc>>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT s.id, s.agent_id, a.role, NULL::text AS name, s.expires_at
           FROM sessions s JOIN agents a ON a.id = s.agent_id
          WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2 AND a.active
         UNION ALL
         SELECT id, NULL, NULL, name, NULL FROM integration_tokens
          WHERE token_hash = $1 AND revoked_at IS NULL
         LIMIT 1",
    )
    .bind(hash)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(
        row.map(|(id, agent_id, role, name, expires_at)| match agent_id {
            Some(agent_id) => Bearer {
                actor: Actor::Agent {
                    id: agent_id,
                    role: role.as_deref().and_then(Role::parse).unwrap_or(Role::Agent),
                    session_id: Some(id),
                },
                expires_at,
            },
            None => Bearer {
                actor: Actor::Integration {
                    id,
                    name: name.unwrap_or_default(),
                },
                expires_at: None,
            },
        }),
    )
}

/// Ends one session; returns whether it was open.
pub async fn end_session(
    c: &Commands,
    session_id: Uuid,
    now: DateTime<Utc>,
    reason: &str,
) -> CommandResult<bool> {
    let done = sqlx::query(
        "UPDATE sessions SET ended_at = $2, end_reason = $3 WHERE id = $1 AND ended_at IS NULL",
    )
    .bind(session_id)
    .bind(now)
    .bind(reason)
    .execute(&c.pool)
    .await?;
    // Whoever bore its token must not pass on a cached resolution.
    c.sessions.clear();
    Ok(done.rows_affected() == 1)
}

/// Ends every open session of an agent except `keep`; returns the ids ended.
pub async fn end_other_sessions(
    c: &Commands,
    agent_id: Uuid,
    keep: Option<Uuid>,
    now: DateTime<Utc>,
    reason: &str,
) -> CommandResult<Vec<Uuid>> {
    let rows = sqlx::query(
        "UPDATE sessions SET ended_at = $3, end_reason = $4
          WHERE agent_id = $1 AND ended_at IS NULL AND ($2::uuid IS NULL OR id <> $2)
          RETURNING id",
    )
    .bind(agent_id)
    .bind(keep)
    .bind(now)
    .bind(reason)
    .fetch_all(&c.pool)
    .await?;
    c.sessions.clear();
    Ok(rows.iter().map(|r| r.get("id")).collect())
}

/// Sessions past their expiry that were never ended: (session id, agent id).
pub async fn expired_sessions(
    pool: &PgPool,
    now: DateTime<Utc>,
) -> CommandResult<Vec<(Uuid, Uuid)>> {
    let rows = sqlx::query(
        "SELECT id, agent_id FROM sessions WHERE ended_at IS NULL AND expires_at <= $1 LIMIT 500",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("id"), r.get("agent_id")))
        .collect())
}
