//! The logout reactor: parks (IN_PROGRESS → PENDING with the same agent) every attendance the
//! routing projection put on its to-do list because the agent's last session ended.
//!
//! Crash-safe by construction: the to-do rows are written in the projection's transaction,
//! together with its checkpoint, so an `AgentLoggedOut` is never consumed without its reaction
//! being recorded; a row is deleted only after the park was done or found unnecessary. Running
//! it twice, or in two processes at once, is harmless: a park of an attendance that is no longer
//! IN_PROGRESS with that agent is a no-op ([`Parked::NothingToDo`]).

use std::ops::Deref;
use std::time::Duration;

use commands::attendances::park_on_logout::{park_on_logout, Parked};
use commands::{CommandContext, Commands};
use sqlx::Row;
use uuid::Uuid;

/// How often the reactor looks at its to-do list (an index-only read when it is empty).
pub const TICK: Duration = Duration::from_millis(200);

/// To-dos handled per pass: bounds one pass's work; the rest waits for the next tick.
pub const PARK_BATCH: i64 = 100;

/// Works through the to-do list once; returns how many attendances it parked.
pub async fn park_once(c: &Commands) -> anyhow::Result<usize> {
    let rows = sqlx::query(
        "SELECT attendance_id, agent_id, caused_by FROM routing_park_todo ORDER BY created_at, attendance_id LIMIT $1",
    )
    .bind(PARK_BATCH)
    .fetch_all(&c.pool)
    .await?;
    let mut parked = 0;
    for r in &rows {
        let attendance_id: Uuid = r.try_get("attendance_id")?;
        let agent_id: Uuid = r.try_get("agent_id")?;
        let caused_by: String = r.try_get("caused_by")?;
        let ctx = CommandContext::system(c.clock.now()).caused_by(caused_by);
        match park_on_logout(c, &ctx, attendance_id, agent_id).await {
            Ok(outcome) => {
                parked += usize::from(outcome == Parked::Parked);
                sqlx::query(
                    "DELETE FROM routing_park_todo WHERE attendance_id = $1 AND agent_id = $2",
                )
                .bind(attendance_id)
                .bind(agent_id)
                .execute(&c.pool)
                .await?;
            }
            // A concurrent write or the database: the row stays and the next pass retries it.
            Err(e) => {
                tracing::warn!(%attendance_id, %agent_id, error = %e, "park on logout failed; will retry")
            }
        }
    }
    Ok(parked)
}

/// Runs [`park_once`] every [`TICK`] for ever.
pub async fn run<C: Deref<Target = Commands>>(c: C) {
    loop {
        if let Err(e) = park_once(&c).await {
            tracing::error!(error = %format!("{e:#}"), "logout reactor failed");
        }
        tokio::time::sleep(TICK).await;
    }
}
