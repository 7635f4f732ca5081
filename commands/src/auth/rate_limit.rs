//! Login throttling, per e-mail and per client address, shared by every server instance through
//! the `login_failures` table.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::error::{CommandError, CommandResult};

/// Failed attempts allowed per e-mail within [`WINDOW`]: enough for typos, too few to guess.
pub const MAX_FAILURES_PER_EMAIL: i64 = 5;
/// Failed attempts allowed per address within [`WINDOW`]: higher, since a call center may share
/// one public address.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
/// The sliding window the counts are taken over.
pub const WINDOW: Duration = Duration::minutes(15);

/// RATE_LIMITED when either count is used up.
pub async fn check(
    pool: &PgPool,
    email: &str,
    address: &str,
    now: DateTime<Utc>,
) -> CommandResult<()> {
    let since = now - WINDOW;
    let (by_email, by_address): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE email = $1), count(*) FILTER (WHERE address = $2)
           FROM login_failures WHERE at > $3 AND (email = $1 OR address = $2)",
    )
    .bind(email)
    .bind(address)
    .bind(since)
    .fetch_one(pool)
    .await?;
    if by_email >= MAX_FAILURES_PER_EMAIL || by_address >= MAX_FAILURES_PER_ADDRESS {
        return Err(CommandError::RateLimited(
            "too many failed logins; try again later".into(),
        ));
    }
    Ok(())
}

pub async fn record_failure(
    pool: &PgPool,
    email: &str,
    address: &str,
    now: DateTime<Utc>,
) -> CommandResult<()> {
    sqlx::query("INSERT INTO login_failures (email, address, at) VALUES ($1, $2, $3)")
        .bind(email)
        .bind(address)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

/// A successful login forgets the e-mail's failures.
pub async fn clear(pool: &PgPool, email: &str) -> CommandResult<()> {
    sqlx::query("DELETE FROM login_failures WHERE email = $1")
        .bind(email)
        .execute(pool)
        .await?;
    Ok(())
}
