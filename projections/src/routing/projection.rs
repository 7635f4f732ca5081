//! The `routing` projection: `routing_attendances`, `routing_agents`, the counters
//! ([`crate::counters`]) and the logout reactor's to-do list, from Attendance and Agent events
//! in one global order, so that an agent's logout and the attendances they hold are seen in the
//! order they happened.

use domain::agent::AgentEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use super::batch;
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

    /// Messages move no attendance (see [`batch`]).
    fn reads_event(&self, aggregate_type: &str, event_type: &str) -> bool {
        match aggregate_type {
            "Attendance" => !batch::MOVES_NOTHING.contains(&event_type),
            "Agent" => true,
            _ => false,
        }
    }

    fn apply<'a>(&'a self, tx: &'a mut PgConnection, event: &'a StoredEvent) -> ApplyFuture<'a> {
        self.apply_batch(tx, std::slice::from_ref(event))
    }

    /// Runs of Attendance events go through [`batch`] (a few statements a run); each Agent event
    /// is applied between them, since a login or logout changes what the runs after it see.
    fn apply_batch<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [StoredEvent],
    ) -> ApplyFuture<'a> {
        Box::pin(async move {
            let mut rest = events;
            while !rest.is_empty() {
                let run = rest
                    .iter()
                    .position(|e| e.aggregate_type != "Attendance")
                    .unwrap_or(rest.len());
                if run > 0 {
                    batch::apply_attendance_run(&mut *tx, &rest[..run]).await?;
                    rest = &rest[run..];
                    continue;
                }
                let event = &rest[0];
                if event.aggregate_type == "Agent" {
                    let id: Uuid = event.aggregate_id.parse()?;
                    let ev: AgentEvent = event.decode()?;
                    apply_agent(&mut *tx, id, &ev, event).await?;
                }
                rest = &rest[1..];
            }
            Ok(())
        })
    }
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
