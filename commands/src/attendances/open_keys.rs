//! One open attendance per (account, contact, channel): the key is claimed before an attendance
//! opens and released once it is finalized, so two concurrent openings cannot both win.
//!
//! A claim can outlive its reason: a crash between claiming and writing AttendanceOpened leaves
//! a claim with no attendance, and one between finalizing and releasing leaves a claim on a
//! finalized attendance. Both are taken over by the next claimant — the first once older than
//! [`STALE_CLAIM`] (younger, the opening may still be in flight), the second at once — with a
//! compare-and-set on the holder, so only one claimant wins.

use chrono::{DateTime, Duration, Utc};
use domain::kinds::ChannelType;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::CommandResult;

/// How old a claim without an attendance must be before it is taken over: far above the time a
/// use case takes between claiming and writing its event.
pub const STALE_CLAIM: Duration = Duration::seconds(60);

/// Whether an attendance's stream exists and whether it is finalized, from the event log (the
/// truth, never behind like a read model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
    Missing,
    Open,
    Finalized,
}

/// The state of attendance `id`'s stream.
pub async fn stream_state(pool: &PgPool, id: Uuid) -> CommandResult<StreamState> {
    let last: Option<String> = sqlx::query_scalar(
        "SELECT event_type FROM events WHERE aggregate_type = 'Attendance' AND aggregate_id = $1
          ORDER BY sequence DESC LIMIT 1",
    )
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?;
    Ok(match last.as_deref() {
        None => StreamState::Missing,
        Some("AttendanceFinalized") => StreamState::Finalized,
        Some(_) => StreamState::Open,
    })
}

/// Claims the key for `attendance_id`; returns the other attendance holding it (open, or being
/// opened right now), if any.
pub async fn claim(
    pool: &PgPool,
    account_id: Uuid,
    contact_id: Uuid,
    channel: ChannelType,
    attendance_id: Uuid,
    now: DateTime<Utc>,
) -> CommandResult<Option<Uuid>> {
    // Two rounds: the holder may release between our insert and our read.
    for _ in 0..2 {
        let inserted = sqlx::query(
            "INSERT INTO attendance_open_keys (account_id, contact_id, channel, attendance_id, claimed_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(account_id)
        .bind(contact_id)
        .bind(channel.as_str())
        .bind(attendance_id)
        .bind(now)
        .execute(pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(None);
        }
        let Some((holder, claimed_at)) = current(pool, account_id, contact_id, channel).await?
        else {
            continue;
        };
        if holder == attendance_id {
            return Ok(None);
        }
        let takeover = match stream_state(pool, holder).await? {
            StreamState::Finalized => true,
            StreamState::Missing => claimed_at < now - STALE_CLAIM,
            StreamState::Open => false,
        };
        if !takeover {
            return Ok(Some(holder));
        }
        let taken = sqlx::query(
            "UPDATE attendance_open_keys SET attendance_id = $5, claimed_at = $6
              WHERE account_id = $1 AND contact_id = $2 AND channel = $3 AND attendance_id = $4",
        )
        .bind(account_id)
        .bind(contact_id)
        .bind(channel.as_str())
        .bind(holder)
        .bind(attendance_id)
        .bind(now)
        .execute(pool)
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(None);
        }
    }
    Ok(current(pool, account_id, contact_id, channel)
        .await?
        .map(|(holder, _)| holder))
}

/// The attendance holding the key and when it claimed it.
async fn current(
    pool: &PgPool,
    account_id: Uuid,
    contact_id: Uuid,
    channel: ChannelType,
) -> CommandResult<Option<(Uuid, DateTime<Utc>)>> {
    Ok(sqlx::query_as(
        "SELECT attendance_id, claimed_at FROM attendance_open_keys
          WHERE account_id = $1 AND contact_id = $2 AND channel = $3",
    )
    .bind(account_id)
    .bind(contact_id)
    .bind(channel.as_str())
    .fetch_optional(pool)
    .await?)
}

/// The open attendance of the contact on this account and channel, if any.
pub async fn open_attendance(
    pool: &PgPool,
    account_id: Uuid,
    contact_id: Uuid,
    channel: ChannelType,
) -> CommandResult<Option<Uuid>> {
    let Some((holder, _)) = current(pool, account_id, contact_id, channel).await? else {
        return Ok(None);
    };
    Ok((stream_state(pool, holder).await? == StreamState::Open).then_some(holder))
}

/// Releases the key held by `attendance_id` (after its opening was refused, or once it is
/// finalized); a key held by another attendance is left alone.
pub async fn release(pool: &PgPool, attendance_id: Uuid) -> CommandResult<()> {
    release_many(pool, &[attendance_id]).await
}

/// Releases the keys held by `attendance_ids` (a bulk finalize), in one statement.
pub async fn release_many(pool: &PgPool, attendance_ids: &[Uuid]) -> CommandResult<()> {
    if attendance_ids.is_empty() {
        return Ok(());
    }
    sqlx::query("DELETE FROM attendance_open_keys WHERE attendance_id = ANY($1)")
        .bind(attendance_ids)
        .execute(pool)
        .await?;
    Ok(())
}
