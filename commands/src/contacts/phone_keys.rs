//! Claims of the contact routing key (account, primary phone): unique per account, so two
//! contacts never route by one phone, even when registered concurrently.
//!
//! A use case claims the key before writing the contact's event and releases it when the event
//! is refused. A claim left behind by a crash between the two would block the phone forever, so
//! a claim older than [`STALE_CLAIM`] whose holder does not route by that key may be taken over
//! (compare-and-set on the holder, so only one claimant wins). Whether the holder routes by it is
//! read from the holder's events, never from the contacts read model: a lagging or stalled
//! projection must not let a second contact take a registered contact's phone.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::contacts::stream;
use crate::error::CommandResult;
use crate::Commands;

/// How old a claim must be before its holder is checked for having it: far above the time a
/// use case takes between claiming and writing its event.
pub const STALE_CLAIM: Duration = Duration::seconds(60);

/// Claims `key` in `account_id` for `contact_id`; returns the other contact holding it, if any.
pub async fn claim(
    c: &Commands,
    account_id: Uuid,
    key: &str,
    contact_id: Uuid,
    now: DateTime<Utc>,
) -> CommandResult<Option<Uuid>> {
    let pool = &c.pool;
    let claimed = sqlx::query(
        "INSERT INTO contact_phone_keys (account_id, routing_key, contact_id, claimed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(account_id)
    .bind(key)
    .bind(contact_id)
    .bind(now)
    .execute(pool)
    .await?;
    if claimed.rows_affected() == 1 {
        return Ok(None);
    }
    let holder: Option<(Uuid, DateTime<Utc>)> = sqlx::query_as(
        "SELECT contact_id, claimed_at FROM contact_phone_keys WHERE account_id = $1 AND routing_key = $2",
    )
    .bind(account_id)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    let Some((holder, claimed_at)) = holder else {
        // Released in between: try once more.
        return Box::pin(claim(c, account_id, key, contact_id, now)).await;
    };
    if holder == contact_id {
        return Ok(None);
    }
    if claimed_at < now - STALE_CLAIM {
        // A registration that never committed, or a phone changed without the release.
        if !routes_by(c, holder, account_id, key).await? {
            let taken = sqlx::query(
                "UPDATE contact_phone_keys SET contact_id = $4, claimed_at = $5
                  WHERE account_id = $1 AND routing_key = $2 AND contact_id = $3",
            )
            .bind(account_id)
            .bind(key)
            .bind(holder)
            .bind(contact_id)
            .bind(now)
            .execute(pool)
            .await?;
            if taken.rows_affected() == 1 {
                return Ok(None);
            }
        }
    }
    Ok(Some(holder))
}

/// Whether `contact_id`'s events show it routing by `key` in `account_id`: false for a contact
/// that never registered (no events) or whose phone changed since it claimed the key.
pub async fn routes_by(
    c: &Commands,
    contact_id: Uuid,
    account_id: Uuid,
    key: &str,
) -> CommandResult<bool> {
    Ok(stream::load(c, contact_id)
        .await?
        .holds_routing_key(account_id, key))
}

/// Releases a claim of `contact_id` (after a refused command, or when its phone changed).
pub async fn release(
    pool: &PgPool,
    account_id: Uuid,
    key: &str,
    contact_id: Uuid,
) -> CommandResult<()> {
    sqlx::query("DELETE FROM contact_phone_keys WHERE account_id = $1 AND routing_key = $2 AND contact_id = $3")
        .bind(account_id)
        .bind(key)
        .bind(contact_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// The contact holding the claim of `key` in the account, if any. It may not route by it yet
/// (see [`routes_by`]): inbound messages find their contact through
/// [`by_phone`](crate::contacts::by_phone).
pub async fn holder(pool: &PgPool, account_id: Uuid, key: &str) -> CommandResult<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT contact_id FROM contact_phone_keys WHERE account_id = $1 AND routing_key = $2",
    )
    .bind(account_id)
    .bind(key)
    .fetch_optional(pool)
    .await?)
}
