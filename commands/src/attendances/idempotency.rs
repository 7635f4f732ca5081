//! Repeated requests change nothing: a gateway's redelivered `externalMessageId`, and an agent's
//! `idempotencyKey` on openOutboundAttendance and sendMessage. Each is a claim in a table whose
//! primary key is the request's identity, taken before the command runs (so two concurrent
//! repeats cannot both act) and released when the command is refused (so a corrected retry may
//! act). A claim whose command never got written (a crash in between) is taken over once older
//! than [`STALE_CLAIM`](super::open_keys::STALE_CLAIM).

use chrono::{DateTime, Utc};
use domain::kinds::ChannelType;
use domain::validation::FieldError;
use domain::values::text::required_text;
use sqlx::PgPool;
use uuid::Uuid;

use super::open_keys::{stream_state, StreamState, STALE_CLAIM};
use crate::error::{CommandError, CommandResult};

/// Longest idempotency key, in characters: clients send UUIDs or short hashes.
pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 200;

/// A trimmed, non-blank key of at most [`IDEMPOTENCY_KEY_MAX_CHARS`] characters.
pub fn parse_key(raw: &str) -> CommandResult<String> {
    required_text(raw, IDEMPOTENCY_KEY_MAX_CHARS)
        .map_err(|e: FieldError| CommandError::Validation(e.under("idempotencyKey").into()))
}

/// Claims a gateway message id for `attendance_id`; returns the attendance a previous (or
/// concurrent) delivery went to, if any.
pub async fn claim_inbound(
    pool: &PgPool,
    account_id: Uuid,
    channel: ChannelType,
    external_id: &str,
    attendance_id: Uuid,
    now: DateTime<Utc>,
) -> CommandResult<Option<Uuid>> {
    let inserted = sqlx::query(
        "INSERT INTO inbound_message_ids (account_id, channel, external_id, attendance_id, claimed_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(account_id)
    .bind(channel.as_str())
    .bind(external_id)
    .bind(attendance_id)
    .bind(now)
    .execute(pool)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(None);
    }
    let holder: Option<(Uuid, DateTime<Utc>)> = sqlx::query_as(
        "SELECT attendance_id, claimed_at FROM inbound_message_ids
          WHERE account_id = $1 AND channel = $2 AND external_id = $3",
    )
    .bind(account_id)
    .bind(channel.as_str())
    .bind(external_id)
    .fetch_optional(pool)
    .await?;
    let Some((holder, claimed_at)) = holder else {
        // Released by a refused delivery in between: this one may act.
        return Box::pin(claim_inbound(
            pool,
            account_id,
            channel,
            external_id,
            attendance_id,
            now,
        ))
        .await;
    };
    if holder != attendance_id
        && claimed_at < now - STALE_CLAIM
        && stream_state(pool, holder).await? == StreamState::Missing
    {
        let taken = sqlx::query(
            "UPDATE inbound_message_ids SET attendance_id = $5, claimed_at = $6
              WHERE account_id = $1 AND channel = $2 AND external_id = $3 AND attendance_id = $4",
        )
        .bind(account_id)
        .bind(channel.as_str())
        .bind(external_id)
        .bind(holder)
        .bind(attendance_id)
        .bind(now)
        .execute(pool)
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(None);
        }
    }
    // Even a claim for the same attendance is another delivery's: two deliveries of one message
    // to a contact's open attendance compute the same id, and only the one that inserted acts.
    Ok(Some(holder))
}

/// Releases a gateway message id after its delivery was refused.
pub async fn release_inbound(
    pool: &PgPool,
    account_id: Uuid,
    channel: ChannelType,
    external_id: &str,
) -> CommandResult<()> {
    sqlx::query("DELETE FROM inbound_message_ids WHERE account_id = $1 AND channel = $2 AND external_id = $3")
        .bind(account_id)
        .bind(channel.as_str())
        .bind(external_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Claims an agent's openOutboundAttendance key for `attendance_id`; returns the attendance the
/// first request opened, if any.
pub async fn claim_outbound(
    pool: &PgPool,
    agent_id: Uuid,
    key: &str,
    attendance_id: Uuid,
    now: DateTime<Utc>,
) -> CommandResult<Option<Uuid>> {
    let holder: (Uuid, DateTime<Utc>) = sqlx::query_as(
        "INSERT INTO outbound_idempotency (agent_id, key, attendance_id, claimed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (agent_id, key) DO UPDATE SET key = EXCLUDED.key
         RETURNING attendance_id, claimed_at",
    )
    .bind(agent_id)
    .bind(key)
    .bind(attendance_id)
    .bind(now)
    .fetch_one(pool)
    .await?;
    let (holder, claimed_at) = holder;
    if holder == attendance_id {
        return Ok(None);
    }
    if claimed_at < now - STALE_CLAIM && stream_state(pool, holder).await? == StreamState::Missing {
        let taken = sqlx::query(
            "UPDATE outbound_idempotency SET attendance_id = $4, claimed_at = $5
              WHERE agent_id = $1 AND key = $2 AND attendance_id = $3",
        )
        .bind(agent_id)
        .bind(key)
        .bind(holder)
        .bind(attendance_id)
        .bind(now)
        .execute(pool)
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(None);
        }
    }
    Ok(Some(holder))
}

/// Releases an openOutboundAttendance key after the opening was refused.
pub async fn release_outbound(
    pool: &PgPool,
    agent_id: Uuid,
    key: &str,
    attendance_id: Uuid,
) -> CommandResult<()> {
    sqlx::query(
        "DELETE FROM outbound_idempotency WHERE agent_id = $1 AND key = $2 AND attendance_id = $3",
    )
    .bind(agent_id)
    .bind(key)
    .bind(attendance_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Claims an agent's sendMessage key for `message_id`; returns the (message, attendance) of the
/// first request, if any.
pub async fn claim_message(
    pool: &PgPool,
    agent_id: Uuid,
    key: &str,
    message_id: Uuid,
    attendance_id: Uuid,
    now: DateTime<Utc>,
) -> CommandResult<Option<(Uuid, Uuid)>> {
    let (holder, holder_attendance, claimed_at): (Uuid, Uuid, DateTime<Utc>) = sqlx::query_as(
        "INSERT INTO message_idempotency (agent_id, key, message_id, attendance_id, claimed_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (agent_id, key) DO UPDATE SET key = EXCLUDED.key
         RETURNING message_id, attendance_id, claimed_at",
    )
    .bind(agent_id)
    .bind(key)
    .bind(message_id)
    .bind(attendance_id)
    .bind(now)
    .fetch_one(pool)
    .await?;
    if holder == message_id {
        return Ok(None);
    }
    if claimed_at < now - STALE_CLAIM {
        // A message is in the log once its event is; the read model may lag, the log does not.
        let sent: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM events WHERE aggregate_type = 'Attendance' AND aggregate_id = $1
                              AND payload::jsonb -> 'AgentMessageSent' ->> 'message_id' = $2)",
        )
        .bind(holder_attendance.to_string())
        .bind(holder.to_string())
        .fetch_one(pool)
        .await?;
        if !sent {
            let taken = sqlx::query(
                "UPDATE message_idempotency SET message_id = $4, attendance_id = $5, claimed_at = $6
                  WHERE agent_id = $1 AND key = $2 AND message_id = $3",
            )
            .bind(agent_id)
            .bind(key)
            .bind(holder)
            .bind(attendance_id)
            .bind(now)
            .execute(pool)
            .await?;
            if taken.rows_affected() == 1 {
                return Ok(None);
            }
        }
    }
    Ok(Some((holder, holder_attendance)))
}

/// Releases a sendMessage key after the message was refused.
pub async fn release_message(
    pool: &PgPool,
    agent_id: Uuid,
    key: &str,
    message_id: Uuid,
) -> CommandResult<()> {
    sqlx::query(
        "DELETE FROM message_idempotency WHERE agent_id = $1 AND key = $2 AND message_id = $3",
    )
    .bind(agent_id)
    .bind(key)
    .bind(message_id)
    .execute(pool)
    .await?;
    Ok(())
}
