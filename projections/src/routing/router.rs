//! The router: gives WAITING attendances to available agents (see [`super`] for the design and
//! its guarantees). [`route_once`] is one decision round; [`run`] repeats it as events arrive.

use std::collections::HashSet;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use commands::attendances::assign::assign;
use commands::{CommandContext, CommandError, Commands};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::projection::{RoutingProjection, NAME};
use crate::agents::{AgentsProjection, NAME as AGENTS};
use crate::log::{stream_head, Checkpoint};
use crate::runner::Projector;

/// The PostgreSQL advisory lock every router of the deployment takes for a round: one decides at
/// a time, across processes. An arbitrary constant: "routing" in ASCII.
pub const ROUTER_LOCK_KEY: i64 = 0x0072_6f75_7469_6e67;

/// How often the router looks whether the routing projection moved (a new event may have made
/// an attendance wait or an agent available). One primary-key read; keeps routing latency low.
pub const TICK: Duration = Duration::from_millis(200);

/// A round runs at least this often even if nothing moved, to retry assignments that lost a
/// race with another writer of the attendance (a concurrent-write CONFLICT).
pub const FULL_ROUND_EVERY: Duration = Duration::from_secs(5);

/// How often the router re-reads its projection while waiting for its own assignments to reach
/// it before releasing the lock.
const CATCH_UP_POLL: Duration = Duration::from_millis(20);

/// How long it waits for them before logging that the projection is late (it goes on waiting:
/// deciding on counts that miss its own assignments could exceed an agent's limit).
const CATCH_UP_WARN_AFTER: Duration = Duration::from_secs(10);

/// A waiting attendance, as the router sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub attendance_id: Uuid,
    pub service_id: Uuid,
    /// The contact's portfolio agent, preferred when available in this service.
    pub portfolio_agent_id: Option<Uuid>,
}

/// An agent that may receive attendances now (active, ONLINE, not paused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub agent_id: Uuid,
    pub service_ids: Vec<Uuid>,
    pub max_concurrent: i32,
    pub in_progress: i32,
    /// Since when they have been without a new attendance (login or last assignment); None
    /// sorts first: never given one counts as idle the longest.
    pub idle_since: Option<DateTime<Utc>>,
}

impl Candidate {
    fn can_take(&self, service_id: Uuid) -> bool {
        self.in_progress < self.max_concurrent && self.service_ids.contains(&service_id)
    }
}

/// Who gets `w`: its portfolio agent when they can take it, else the fewest in progress, ties
/// to the longest idle, then the lowest id (so two equal runs choose alike). Pure.
pub fn choose(w: &Waiting, candidates: &[Candidate]) -> Option<usize> {
    let able = || {
        candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.can_take(w.service_id))
    };
    if let Some(p) = w.portfolio_agent_id {
        if let Some((i, _)) = able().find(|(_, c)| c.agent_id == p) {
            return Some(i);
        }
    }
    able()
        .min_by_key(|(_, c)| (c.in_progress, c.idle_since, c.agent_id))
        .map(|(i, _)| i)
}

/// What a round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub assigned: usize,
    /// Some assignment failed for a reason worth retrying soon (a concurrent write).
    pub retry: bool,
}

/// How a round brings the `routing` and `agents` projections up to date before it decides, and
/// waits for its own assignments after.
pub enum CatchUp<'a> {
    /// It applies them itself, in a projector of its own: for a process that does not run
    /// those projections (tools, tests).
    Apply(Projector),
    /// It waits for this process's lanes, which apply them anyway: the round then never
    /// contends with them for the projections' locks (it did about every 200 ms under load,
    /// holding back every mutation waiting for the routing lane).
    Lanes(&'a Projector),
}

impl CatchUp<'_> {
    async fn to(&self, names: &[&str], target: Option<Checkpoint>) -> anyhow::Result<()> {
        match self {
            CatchUp::Lanes(lanes) => lanes.wait_until(names, target).await,
            CatchUp::Apply(own) => match target {
                None => own.catch_up_all().await,
                Some(target) => wait_until_projected(own, target).await,
            },
        }
    }
}

/// One decision round with a projector of its own ([`CatchUp::Apply`]).
pub async fn route_once(c: &Commands) -> anyhow::Result<Round> {
    let own = own_projector(&c.pool).await?;
    route_once_with(c, &CatchUp::Apply(own)).await
}

/// One decision round: under the lock, catch up, read the queue and the agents, assign, and wait
/// until the routing projection shows those assignments before letting the next round decide.
pub async fn route_once_with(c: &Commands, catch_up: &CatchUp<'_>) -> anyhow::Result<Round> {
    let pool = &c.pool;
    // A transaction only to hold the lock: it writes nothing (so it takes no transaction id and
    // holds back no projection), and it releases the lock however the round ends, even if this
    // task is cancelled, which a session lock on a pooled connection would not.
    let mut lock = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(ROUTER_LOCK_KEY)
        .execute(&mut *lock)
        .await?;
    catch_up.to(&[NAME, AGENTS], None).await?;

    let mut candidates = load_candidates(pool).await?;
    let services: Vec<Uuid> = candidates
        .iter()
        .flat_map(|c| c.service_ids.iter().copied())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let capacity: i64 = candidates
        .iter()
        .map(|c| i64::from(c.max_concurrent - c.in_progress).max(0))
        .sum();
    let waiting = if capacity > 0 {
        load_waiting(pool, &services, capacity).await?
    } else {
        Vec::new()
    };

    let mut round = Round::default();
    let mut target: Option<Checkpoint> = None;
    for w in &waiting {
        let Some(i) = choose(w, &candidates) else {
            continue;
        };
        let now = c.clock.now();
        let agent_id = candidates[i].agent_id;
        match assign(c, &CommandContext::system(now), w.attendance_id, agent_id).await {
            Ok(()) => {
                candidates[i].in_progress += 1;
                candidates[i].idle_since = Some(now);
                round.assigned += 1;
                let mut conn = pool.acquire().await?;
                let head =
                    stream_head(&mut conn, "Attendance", &w.attendance_id.to_string()).await?;
                target = target.max(head);
            }
            // No longer waiting (finalized, transferred, another router's): nothing to do.
            Err(CommandError::InvalidState(_) | CommandError::NotFound(_)) => {}
            Err(e) => {
                tracing::warn!(attendance_id = %w.attendance_id, %agent_id, error = %e, "assignment failed; will retry");
                round.retry = true;
            }
        }
    }
    if target.is_some() {
        catch_up.to(&[NAME], target).await?;
    }
    lock.commit().await?;
    Ok(round)
}

/// Runs rounds for ever, on this process's lanes: whenever the routing projection moves, and
/// every [`FULL_ROUND_EVERY`]. Errors are logged and retried on the next tick.
pub async fn run<C: Deref<Target = Commands>>(c: C, lanes: Projector) {
    let mut seen: Option<Checkpoint> = None;
    let mut last_round = Instant::now() - FULL_ROUND_EVERY;
    let mut retry = false;
    loop {
        let moved = match checkpoint(&c.pool).await {
            Ok(cp) => {
                let moved = seen != Some(cp);
                seen = Some(cp);
                moved
            }
            Err(e) => {
                tracing::warn!(error = %e, "router cannot read its checkpoint");
                false
            }
        };
        if moved || retry || last_round.elapsed() >= FULL_ROUND_EVERY {
            last_round = Instant::now();
            match route_once_with(&c, &CatchUp::Lanes(&lanes)).await {
                Ok(r) => retry = r.retry,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "routing round failed");
                    retry = true;
                }
            }
        }
        tokio::time::sleep(TICK).await;
    }
}

/// The projections a round catches up: its own, and the agents' (presence, limits, services).
async fn own_projector(pool: &PgPool) -> anyhow::Result<Projector> {
    let projector = Projector::new(
        pool.clone(),
        vec![Arc::new(RoutingProjection), Arc::new(AgentsProjection)],
    );
    for name in projector.names() {
        // Written only when missing, so a round normally writes nothing here.
        sqlx::query(
            "INSERT INTO projection_checkpoints (name) SELECT $1
              WHERE NOT EXISTS (SELECT 1 FROM projection_checkpoints WHERE name = $1) ON CONFLICT DO NOTHING",
        )
            .bind(name)
            .execute(pool)
            .await?;
    }
    Ok(projector)
}

async fn checkpoint(pool: &PgPool) -> sqlx::Result<Checkpoint> {
    let row = sqlx::query(
        "SELECT tx_id::text::bigint AS tx, position FROM projection_checkpoints WHERE name = $1",
    )
    .bind(NAME)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some(r) => Checkpoint {
            tx_id: r.try_get("tx")?,
            position: r.try_get("position")?,
        },
        None => Checkpoint::default(),
    })
}

/// Waits until the routing projection has applied `target` (the router's last assignment).
async fn wait_until_projected(catch_up: &Projector, target: Checkpoint) -> anyhow::Result<()> {
    let pool = catch_up.pool();
    let started = Instant::now();
    let mut warned = false;
    loop {
        catch_up.catch_up_all().await?;
        if checkpoint(pool).await? >= target {
            return Ok(());
        }
        if !warned && started.elapsed() > CATCH_UP_WARN_AFTER {
            tracing::warn!(
                ?target,
                "the routing projection is late; routing waits for it"
            );
            warned = true;
        }
        tokio::time::sleep(CATCH_UP_POLL).await;
    }
}

/// Agents who may receive an attendance now: active and ONLINE in the agents read model, online
/// in the routing projection (their logout may be applied there first), under their limit.
async fn load_candidates(pool: &PgPool) -> sqlx::Result<Vec<Candidate>> {
    let rows = sqlx::query(
        "SELECT a.id, a.service_ids, a.max_concurrent, COALESCE(p.in_progress, 0) AS in_progress,
                GREATEST(a.idle_since, r.last_assigned_at) AS idle_since
           FROM agents a
           JOIN routing_agents r ON r.agent_id = a.id AND r.online
           LEFT JOIN agent_in_progress_counts p ON p.agent_id = a.id
          WHERE a.active AND a.presence = 'ONLINE' AND COALESCE(p.in_progress, 0) < a.max_concurrent",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Candidate {
                agent_id: r.try_get("id")?,
                service_ids: r.try_get("service_ids")?,
                max_concurrent: r.try_get("max_concurrent")?,
                in_progress: r.try_get("in_progress")?,
                idle_since: r.try_get("idle_since")?,
            })
        })
        .collect()
}

/// The oldest waiting attendances of `services`, at most `limit` (the free capacity: more could
/// not be assigned this round anyway).
async fn load_waiting(pool: &PgPool, services: &[Uuid], limit: i64) -> sqlx::Result<Vec<Waiting>> {
    let rows = sqlx::query(
        "SELECT r.attendance_id, r.service_id, c.portfolio_agent_id
           FROM routing_attendances r
           LEFT JOIN contacts c ON c.id = r.contact_id
          WHERE r.status = 'WAITING' AND r.service_id = ANY($1)
          ORDER BY r.waiting_since, r.attendance_id
          LIMIT $2",
    )
    .bind(services)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Waiting {
                attendance_id: r.try_get("attendance_id")?,
                service_id: r.try_get("service_id")?,
                portfolio_agent_id: r.try_get("portfolio_agent_id")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: u32) -> Option<DateTime<Utc>> {
        Some(Utc.with_ymd_and_hms(2026, 11, 27, 15, min, 0).unwrap())
    }

    fn agent(service: Uuid, in_progress: i32, idle_since: Option<DateTime<Utc>>) -> Candidate {
        Candidate {
            agent_id: Uuid::new_v4(),
            service_ids: vec![service],
            max_concurrent: 2,
            in_progress,
            idle_since,
        }
    }

    #[test]
    fn the_portfolio_agent_comes_first_when_they_can_take_it() {
        let s = Uuid::new_v4();
        let agents = vec![agent(s, 0, at(0)), agent(s, 1, at(5))];
        let w = Waiting {
            attendance_id: Uuid::new_v4(),
            service_id: s,
            portfolio_agent_id: Some(agents[1].agent_id),
        };
        assert_eq!(choose(&w, &agents), Some(1));
    }

    #[test]
    fn a_full_or_foreign_portfolio_agent_is_passed_over() {
        let (s, other) = (Uuid::new_v4(), Uuid::new_v4());
        let agents = vec![
            agent(s, 2, at(0)),
            agent(other, 0, at(0)),
            agent(s, 1, at(9)),
        ];
        for p in [agents[0].agent_id, agents[1].agent_id] {
            let w = Waiting {
                attendance_id: Uuid::new_v4(),
                service_id: s,
                portfolio_agent_id: Some(p),
            };
            assert_eq!(choose(&w, &agents), Some(2));
        }
    }

    #[test]
    fn fewest_in_progress_wins_then_the_longest_idle() {
        let s = Uuid::new_v4();
        let agents = vec![agent(s, 1, at(0)), agent(s, 0, at(10)), agent(s, 0, at(3))];
        let w = Waiting {
            attendance_id: Uuid::new_v4(),
            service_id: s,
            portfolio_agent_id: None,
        };
        assert_eq!(choose(&w, &agents), Some(2));
    }

    #[test]
    fn nobody_able_leaves_it_waiting() {
        let s = Uuid::new_v4();
        let agents = vec![agent(s, 2, at(0)), agent(Uuid::new_v4(), 0, at(0))];
        let w = Waiting {
            attendance_id: Uuid::new_v4(),
            service_id: s,
            portfolio_agent_id: None,
        };
        assert_eq!(choose(&w, &agents), None);
    }
}
