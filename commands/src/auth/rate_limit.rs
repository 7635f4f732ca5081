//! Login throttling, per e-mail and per client address, shared by every server instance through
//! the `login_failures` table.
//!
//! An attempt is written down *before* its password is checked and only then are the attempts
//! counted, so parallel wrong attempts cannot all pass a check made before any of them was
//! recorded: each one counts itself and every attempt written before it, hence at most the
//! limit get through. A right password (or a refused one) takes its row back out; a wrong one
//! leaves it there as a failure. While a login is being checked it counts against its address,
//! so a burst of more than [`MAX_FAILURES_PER_ADDRESS`] simultaneous logins from one address
//! may see some refused.
//!
//! Anyone who knows an e-mail can lock it out for [`WINDOW`] by failing
//! [`MAX_FAILURES_PER_EMAIL`] times: that is the price of making guessing impossible.

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

/// A login attempt written down and let through the limits; a failure unless [`forget`]-ten.
#[derive(Debug)]
#[must_use = "an attempt is a failure unless forgotten"]
pub struct Attempt {
    id: i64,
}

/// Writes the attempt down, then counts it with the others in the window: RATE_LIMITED (and the
/// attempt taken back out) when it goes over either limit.
pub async fn begin(
    pool: &PgPool,
    email: &str,
    address: &str,
    now: DateTime<Utc>,
) -> CommandResult<Attempt> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO login_failures (email, address, at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(email)
    .bind(address)
    .bind(now)
    .fetch_one(pool)
    .await?;
    let attempt = Attempt { id };
    let (by_email, by_address): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE email = $1), count(*) FILTER (WHERE address = $2)
           FROM login_failures WHERE at > $3 AND (email = $1 OR address = $2)",
    )
    .bind(email)
    .bind(address)
    .bind(now - WINDOW)
    .fetch_one(pool)
    .await?;
    if by_email > MAX_FAILURES_PER_EMAIL || by_address > MAX_FAILURES_PER_ADDRESS {
        forget(pool, attempt).await?;
        return Err(CommandError::RateLimited(
            "too many failed logins; try again later".into(),
        ));
    }
    Ok(attempt)
}

/// The attempt was no failure (the password was right): it no longer counts.
pub async fn forget(pool: &PgPool, attempt: Attempt) -> CommandResult<()> {
    sqlx::query("DELETE FROM login_failures WHERE id = $1")
        .bind(attempt.id)
        .execute(pool)
        .await?;
    Ok(())
}

/// A wrong password: the attempt stays counted as a failure.
pub fn fail(attempt: Attempt) {
    let Attempt { id: _ } = attempt;
}

/// A successful login forgets the e-mail's failures.
pub async fn clear(pool: &PgPool, email: &str) -> CommandResult<()> {
    sqlx::query("DELETE FROM login_failures WHERE email = $1")
        .bind(email)
        .execute(pool)
        .await?;
    Ok(())
}
