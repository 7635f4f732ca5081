//! The `routing` projection: `routing_attendances`, `routing_agents`, the counters
//! ([`crate::counters`]) and the logout reactor's to-do list, from Attendance and Agent events
//! in one global order, so that an agent's logout and the attendances they hold are seen in the
//! order they happened.

use domain::agent::AgentEvent;
use domain::attendance::AttendanceEvent;
use domain::kinds::AttendanceStatus;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::place::{self, Move, Place};
use crate::counters;
use crate::log::StoredEvent;
use crate::projection::{ApplyFuture, Projection};

/// The projection's name: the key of its checkpoint, which the router waits on.
pub const NAME: &str = "routing";

pub struct RoutingProjection;

impl Projection for RoutingProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &["Attendance", "Agent"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "routing_attendances",
            "routing_agents",
            "service_waiting_counts",
            "agent_in_progress_counts",
            "agent_daily_counters",
            "agent_daily_attendances",
            "routing_park_todo",
        ]
    }

    fn apply<'a>(&'a self, tx: &'a mut PgConnection, event: &'a StoredEvent) -> ApplyFuture<'a> {
        Box::pin(async move {
            let id: Uuid = event.aggregate_id.parse()?;
            match event.aggregate_type.as_str() {
                "Attendance" => {
                    let ev: AttendanceEvent =
                        serde_json::from_value(crate::upcast::upcast(event)?)?;
                    apply_attendance(tx, id, &ev, event).await
                }
                "Agent" => {
                    let ev: AgentEvent = serde_json::from_value(crate::upcast::upcast(event)?)?;
                    apply_agent(tx, id, &ev, event).await
                }
                _ => Ok(()),
            }
        })
    }
}

async fn apply_attendance(
    tx: &mut PgConnection,
    id: Uuid,
    ev: &AttendanceEvent,
    stored: &StoredEvent,
) -> anyhow::Result<()> {
    if let AttendanceEvent::AttendanceOpened {
        account_id,
        contact_id,
        at,
        ..
    } = ev
    {
        let Some(m) = place::opened(ev) else {
            return Ok(());
        };
        let tz = commands::admin::accounts::get(&mut *tx, *account_id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .map_or(counters::DEFAULT_TZ, |a| a.tz());
        let day = counters::local_day(tz, *at);
        let inserted = sqlx::query(
            "INSERT INTO routing_attendances
                    (attendance_id, account_id, service_id, contact_id, status, agent_id, opened_at, opened_day, waiting_since)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(account_id)
        .bind(m.to.service_id)
        .bind(contact_id)
        .bind(m.to.status.as_str())
        .bind(m.to.agent_id)
        .bind(at)
        .bind(day)
        .bind(m.queued_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            after_move(tx, id, *account_id, day, None, m, stored).await?;
        }
        return Ok(());
    }
    if matches!(
        ev,
        AttendanceEvent::CustomerMessageReceived { .. } | AttendanceEvent::AgentMessageSent { .. }
    ) {
        // Messages move nothing (`place::next`): no need to read the row.
        return Ok(());
    }
    let Some(row) = sqlx::query(
        "SELECT account_id, service_id, status, agent_id, opened_day FROM routing_attendances WHERE attendance_id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        // Every stream starts with its opening; nothing to move without one.
        return Ok(());
    };
    let status: String = row.try_get("status")?;
    let from = Place {
        status: AttendanceStatus::parse(&status)
            .ok_or_else(|| anyhow::anyhow!("unknown status {status}"))?,
        service_id: row.try_get("service_id")?,
        agent_id: row.try_get("agent_id")?,
    };
    let Some(m) = place::next(from, ev) else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE routing_attendances SET status = $2, service_id = $3, agent_id = $4,
                waiting_since = CASE WHEN $2 = 'WAITING' THEN COALESCE($5, waiting_since) ELSE NULL END
          WHERE attendance_id = $1",
    )
    .bind(id)
    .bind(m.to.status.as_str())
    .bind(m.to.service_id)
    .bind(m.to.agent_id)
    .bind(m.queued_at)
    .execute(&mut *tx)
    .await?;
    if from.status == AttendanceStatus::InProgress
        && (m.to.status != from.status || m.to.agent_id != from.agent_id)
    {
        // Whatever took it out of the agent's hands (the park itself, a finalize, a transfer)
        // settles a pending park: the list only ever names attendances still to park, so a
        // rebuild from the log ends with the same list and never parks a later rescue.
        sqlx::query("DELETE FROM routing_park_todo WHERE attendance_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    after_move(
        tx,
        id,
        row.try_get("account_id")?,
        row.try_get("opened_day")?,
        Some(from),
        m,
        stored,
    )
    .await
}

/// Counters, the taker's "today" and idle time, and a park if the taker is already offline.
async fn after_move(
    tx: &mut PgConnection,
    id: Uuid,
    account_id: Uuid,
    opened_day: chrono::NaiveDate,
    from: Option<Place>,
    m: Move,
    stored: &StoredEvent,
) -> anyhow::Result<()> {
    counters::apply(tx, &place::deltas(from, m.to)).await?;
    let Some(agent_id) = m.taken_by else {
        return Ok(());
    };
    counters::count_taken(tx, agent_id, id, account_id, opened_day).await?;
    sqlx::query(
        "INSERT INTO routing_agents (agent_id, last_assigned_at) VALUES ($1, $2)
         ON CONFLICT (agent_id) DO UPDATE SET last_assigned_at = GREATEST(routing_agents.last_assigned_at, $2)",
    )
    .bind(agent_id)
    .bind(m.at)
    .execute(&mut *tx)
    .await?;
    // The router can assign to an agent whose last session has just ended (it read the agents
    // read model before the logout was applied). The logout's own to-do list was written before
    // this assignment, so park it here: the log order decides, and nothing is left IN_PROGRESS
    // with someone who is gone. People's choices (a transfer to someone not logged in yet) are
    // left as they were made.
    if m.to.status == AttendanceStatus::InProgress && stored.event_type == "AttendanceAssigned" {
        sqlx::query(
            "INSERT INTO routing_park_todo (attendance_id, agent_id, caused_by, created_at)
             SELECT $1, $2, $3, $4 FROM routing_agents WHERE agent_id = $2 AND NOT online
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(agent_id)
        .bind(stored.identity())
        .bind(m.at)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn apply_agent(
    tx: &mut PgConnection,
    id: Uuid,
    ev: &AgentEvent,
    stored: &StoredEvent,
) -> anyhow::Result<()> {
    match ev {
        AgentEvent::AgentRegistered { .. } => {
            sqlx::query("INSERT INTO routing_agents (agent_id) VALUES ($1) ON CONFLICT DO NOTHING")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        AgentEvent::AgentLoggedIn { .. } => {
            sqlx::query(
                "INSERT INTO routing_agents (agent_id, online) VALUES ($1, true)
                 ON CONFLICT (agent_id) DO UPDATE SET online = true",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        // Parked when the agent's *last* session ends (manual logout, expiry, deactivation):
        // closing one of two browser tabs leaves the agent at work, and their attendances too.
        AgentEvent::AgentLoggedOut {
            went_offline: true,
            at,
            ..
        } => {
            sqlx::query(
                "INSERT INTO routing_agents (agent_id, online) VALUES ($1, false)
                 ON CONFLICT (agent_id) DO UPDATE SET online = false",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO routing_park_todo (attendance_id, agent_id, caused_by, created_at)
                 SELECT attendance_id, agent_id, $2, $3 FROM routing_attendances
                  WHERE status = 'IN_PROGRESS' AND agent_id = $1
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(stored.identity())
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        _ => {}
    }
    Ok(())
}
