//! Attendance subscriptions, fed by the change feed ([`crate::feed`]) after the read models
//! include each change: my pending list, the attendances I may see, one attendance's messages,
//! my counters. Each subscriber sees only what it may see, in the order the events happened;
//! `since` replays what a reconnecting client missed, or answers RESYNC past the horizon.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, Subscription};
use commands::attendances::visibility::{self, Scope, Seen};
use commands::Actor;
use futures::Stream;
use projections::attendances::read::{self as attendances, AttendanceRow};
use projections::log::StoredEvent;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth;
use crate::error::{gql, internal};
use crate::feed::{
    encode_cursor, fold_around, Around, FeedItem, Figure, FigureKind, Live, RecvError, Replay,
    Topic,
};
use crate::state::ApiState;
use crate::types::attendance::{Attendance, Message};
use crate::types::changes::{AttendanceChange, ChangeKind, PendingChange};
use crate::types::counters::AgentCounters;

/// How often counters are recomputed without a change (the day rolls over at local midnight).
const COUNTERS_TICK: Duration = Duration::from_secs(60);

fn seen(row: &AttendanceRow) -> Seen {
    Seen {
        account_id: row.account_id,
        contact_id: row.contact_id,
        channel: row.channel,
        status: row.status,
        service_id: row.service_id,
        agent_id: row.agent_id,
    }
}

async fn pending_count(pool: &PgPool, agent: Uuid) -> i32 {
    sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM attendances WHERE agent_id = $1 AND status = 'PENDING'",
    )
    .bind(agent)
    .fetch_one(pool)
    .await
    .map(|n| i32::try_from(n).unwrap_or(i32::MAX))
    .unwrap_or(0)
}

/// The events to process first: a replay after `since`, or a RESYNC marker (None).
async fn backlog(state: &ApiState, since: Option<&str>) -> Option<Vec<Arc<StoredEvent>>> {
    match since {
        None => Some(Vec::new()),
        Some(s) => match state.feed().replay(state.pool(), s).await {
            Replay::Events(e) => Some(e),
            Replay::Resync => None,
        },
    }
}

/// Each attendance's state just before and just after an event, folded with the domain's own
/// `apply`, so that a change is judged by what the event did, not by where the attendance stands
/// when the change is sent. Live events come with it from the feed (folded once for every
/// subscriber); the events a reconnecting subscriber replays are folded here (cached per
/// subscriber, so each stream is loaded once).
#[derive(Default)]
struct Folded(std::collections::HashMap<Uuid, (domain::attendance::Attendance, i64)>);

impl Folded {
    async fn around(
        &mut self,
        pool: &PgPool,
        id: Uuid,
        e: &StoredEvent,
        live: Option<&Live>,
    ) -> Option<Around> {
        if let Some(around) = live.and_then(|l| l.around) {
            return Some(around);
        }
        let (around, state) = fold_around(pool, self.0.remove(&id), e).await?;
        self.0.insert(id, (state, e.sequence));
        Some(around)
    }
}

/// The attendance's row: shared with the other subscribers for a live event.
async fn row_of(pool: &PgPool, id: Uuid, live: Option<&Live>) -> Option<AttendanceRow> {
    match live {
        Some(l) => l.attendance_row(pool).await,
        None => attendances::get(pool, id).await.ok().flatten(),
    }
}

/// The agent's pending count after an event: shared with the agent's other subscribers for a
/// live event.
async fn pending_count_after(pool: &PgPool, agent: Uuid, live: Option<&Live>) -> i32 {
    match live {
        Some(l) => {
            let figure = l
                .per_agent(agent, FigureKind::PendingCount, || async {
                    Some(Figure::PendingCount(pending_count(pool, agent).await))
                })
                .await;
            match figure {
                Some(Figure::PendingCount(n)) => n,
                _ => pending_count(pool, agent).await,
            }
        }
        None => pending_count(pool, agent).await,
    }
}

/// Tracks one subscriber's pending list.
struct PendingTracker {
    agent: Uuid,
    folded: Folded,
}

impl PendingTracker {
    async fn change(
        &mut self,
        pool: &PgPool,
        e: &StoredEvent,
        live: Option<&Live>,
    ) -> Option<PendingChange> {
        if e.aggregate_type != "Attendance" {
            return None;
        }
        let id: Uuid = e.aggregate_id.parse().ok()?;
        let (before, after) = self.folded.around(pool, id, e, live).await?;
        let mine = |f: Option<crate::feed::Facts>| {
            f.is_some_and(|f| {
                f.status == domain::kinds::AttendanceStatus::Pending
                    && f.agent_id == Some(self.agent)
            })
        };
        let kind = if mine(after) {
            ChangeKind::Upsert
        } else if mine(before) {
            ChangeKind::Remove
        } else {
            return None;
        };
        let row = row_of(pool, id, live).await?;
        Some(PendingChange {
            kind,
            attendance: Some(Attendance::of(row)),
            pending_count: pending_count_after(pool, self.agent, live).await,
            cursor: encode_cursor(e.checkpoint),
        })
    }
}

/// Tracks what one subscriber may see.
struct VisibleTracker {
    scope: Scope,
    folded: Folded,
}

impl VisibleTracker {
    async fn change(
        &mut self,
        pool: &PgPool,
        e: &StoredEvent,
        live: Option<&Live>,
    ) -> Option<AttendanceChange> {
        if e.aggregate_type != "Attendance" {
            return None;
        }
        let id: Uuid = e.aggregate_id.parse().ok()?;
        let (before, after) = self.folded.around(pool, id, e, live).await?;
        let row = row_of(pool, id, live).await?;
        let visible = |f: Option<crate::feed::Facts>| {
            f.is_some_and(|f| {
                self.scope.includes(&Seen {
                    status: f.status,
                    agent_id: f.agent_id,
                    ..seen(&row)
                })
            })
        };
        let kind = if visible(after) {
            ChangeKind::Upsert
        } else if visible(before) {
            ChangeKind::Remove
        } else {
            return None;
        };
        Some(AttendanceChange {
            kind,
            attendance: Some(Attendance::of(row)),
            cursor: encode_cursor(e.checkpoint),
        })
    }
}

#[derive(Default)]
pub struct AttendancesSubscription;

#[Subscription]
impl AttendancesSubscription {
    /// My pending list changed: one attendance entered, moved or left it. After a reconnect, pass
    /// the last cursor seen as `since`: the changes missed meanwhile come first, in order; when
    /// they can no longer be replayed, one RESYNC change says to re-query.
    async fn pending_attendances_changed(
        &self,
        ctx: &Context<'_>,
        since: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = PendingChange>> {
        let (agent, _, _) = auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>().clone();
        let mut rx = state.feed().subscribe(vec![Topic::Agent(agent)]);
        let backlog = backlog(&state, since.as_deref()).await;
        Ok(async_stream::stream! {
            let pool = state.pool().clone();
            let mut tracker = PendingTracker { agent, folded: Folded::default() };
            let mut last = None;
            match backlog {
                None => yield PendingChange { kind: ChangeKind::Resync, attendance: None,
                    pending_count: pending_count(&pool, agent).await, cursor: encode_cursor(state.feed().head()) },
                Some(events) => for e in events {
                    last = Some(e.checkpoint);
                    if let Some(c) = tracker.change(&pool, &e, None).await { yield c; }
                },
            }
            loop {
                match rx.recv().await {
                    Ok(FeedItem::Event(e)) => {
                        if last.is_some_and(|l| e.checkpoint <= l) { continue; }
                        if let Some(c) = tracker.change(&pool, &e, Some(&*e)).await { yield c; }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged) => yield PendingChange { kind: ChangeKind::Resync, attendance: None,
                        pending_count: pending_count(&pool, agent).await, cursor: encode_cursor(state.feed().head()) },
                    Err(RecvError::Closed) => break,
                }
            }
        })
    }

    /// Any attendance assigned to me, or waiting in my services, changed. `since` as above.
    async fn attendance_updated(
        &self,
        ctx: &Context<'_>,
        since: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = AttendanceChange>> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>().clone();
        let scope = visibility::scope(state.pool(), &actor).await.map_err(gql)?;
        let topics = match &scope {
            Scope::Agent {
                agent_id,
                service_ids,
            } => std::iter::once(Topic::Agent(*agent_id))
                .chain(service_ids.iter().map(|s| Topic::Service(*s)))
                .collect(),
            Scope::All | Scope::Accounts(_) => vec![Topic::All],
        };
        let mut rx = state.feed().subscribe(topics);
        let backlog = backlog(&state, since.as_deref()).await;
        Ok(async_stream::stream! {
            let pool = state.pool().clone();
            let mut tracker = VisibleTracker { scope, folded: Folded::default() };
            let mut last = None;
            match backlog {
                None => yield AttendanceChange { kind: ChangeKind::Resync, attendance: None, cursor: encode_cursor(state.feed().head()) },
                Some(events) => for e in events {
                    last = Some(e.checkpoint);
                    if let Some(c) = tracker.change(&pool, &e, None).await { yield c; }
                },
            }
            loop {
                match rx.recv().await {
                    Ok(FeedItem::Event(e)) => {
                        if last.is_some_and(|l| e.checkpoint <= l) { continue; }
                        if let Some(c) = tracker.change(&pool, &e, Some(&*e)).await { yield c; }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged) => yield AttendanceChange { kind: ChangeKind::Resync, attendance: None,
                        cursor: encode_cursor(state.feed().head()) },
                    Err(RecvError::Closed) => break,
                }
            }
        })
    }

    /// New messages of one attendance; `since` (a message id) first replays those after it.
    async fn message_added(
        &self,
        ctx: &Context<'_>,
        attendance_id: Uuid,
        since: Option<Uuid>,
    ) -> async_graphql::Result<impl Stream<Item = Message>> {
        let actor: Actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>().clone();
        visibility::require_visible(state.pool(), &actor, attendance_id)
            .await
            .map_err(gql)?;
        let mut rx = state
            .feed()
            .subscribe(vec![Topic::Attendance(attendance_id)]);
        // Messages that exist now are replayed (after `since`) or were already seen; a live event
        // at or below this stream position is one of them, arriving late through the feed.
        let floor: i64 = sqlx::query_scalar(
            "SELECT COALESCE(max(seq), 0) FROM attendance_messages WHERE attendance_id = $1",
        )
        .bind(attendance_id)
        .fetch_one(state.pool())
        .await
        .map_err(internal)?;
        let mut missed = Vec::new();
        if let Some(since) = since {
            let from = attendances::message(state.pool(), since)
                .await
                .map_err(internal)?
                .filter(|m| m.attendance_id == attendance_id);
            let mut after = from.map(|m| (m.at, m.seq));
            loop {
                let (rows, _) = attendances::messages(state.pool(), attendance_id, 200, after)
                    .await
                    .map_err(internal)?;
                let more = rows.len() > 200;
                for m in rows.into_iter().take(200) {
                    after = Some((m.at, m.seq));
                    missed.push(m);
                }
                if !more {
                    break;
                }
            }
        }
        Ok(async_stream::stream! {
            let pool = state.pool().clone();
            let mut delivered: HashSet<Uuid> = HashSet::new();
            for m in missed {
                delivered.insert(m.id);
                yield Message(m);
            }
            loop {
                match rx.recv().await {
                    Ok(FeedItem::Event(e)) => {
                        if e.aggregate_type != "Attendance" || e.sequence <= floor { continue; }
                        let Ok(payload) = e.payload.value() else { continue };
                        let Some(body) = payload.get(&e.event_type) else { continue };
                        let Some(id) = body.get("message_id").and_then(|v| v.as_str()).and_then(|v| v.parse::<Uuid>().ok()) else { continue };
                        if !delivered.insert(id) { continue; }
                        if let Some(m) = e.message_row(&pool, id).await { yield Message(m); }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged) => continue,
                    Err(RecvError::Closed) => break,
                }
            }
        })
    }

    /// My counters changed (same permission as Query.counters).
    async fn counters_changed(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = AgentCounters>> {
        let (agent, role, _) = auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>().clone();
        if role == domain::kinds::Role::Agent
            && !commands::admin::settings::get(state.pool())
                .await
                .map_err(gql)?
                .show_statistics
        {
            return Err(gql(commands::CommandError::forbidden(
                "statistics are hidden from agents by the administrator",
            )));
        }
        // My attendances, my services' queues, and my own events (a change of services).
        let services = visibility::agent_services(state.pool(), agent)
            .await
            .map_err(gql)?;
        let topics = std::iter::once(Topic::Agent(agent))
            .chain(services.into_iter().map(Topic::Service))
            .collect();
        let mut rx = state.feed().subscribe(topics);
        Ok(async_stream::stream! {
            let pool = state.pool().clone();
            let mut last: Option<(chrono::NaiveDate, i32, i32, i32)> = None;
            let mut tick = tokio::time::interval(COUNTERS_TICK);
            loop {
                // A counted fact (status, agent, service) changed; a message changes none.
                let relevant: Option<Option<Arc<Live>>> = tokio::select! {
                    item = rx.recv() => match item {
                        Ok(FeedItem::Event(e)) => {
                            let around = e.around;
                            match around {
                                Some((before, after)) if e.aggregate_type == "Attendance" => (before != after).then_some(Some(e)),
                                _ => Some(None),
                            }
                        }
                        Ok(_) => None,
                        Err(RecvError::Lagged) => Some(None),
                        Err(RecvError::Closed) => break,
                    },
                    _ = tick.tick() => Some(None),
                };
                let Some(live) = relevant else { continue };
                let compute = || async {
                    let zone = projections::counters::read::agent_zone(&pool, agent).await.ok()?;
                    let day = projections::counters::local_day(zone, state.clock().now());
                    projections::counters::read::for_agent(&pool, agent, day).await.ok().map(Figure::Counters)
                };
                let figure = match &live {
                    Some(l) => l.per_agent(agent, FigureKind::Counters, compute).await,
                    None => compute().await,
                };
                let Some(Figure::Counters(c)) = figure else { continue };
                let counters: AgentCounters = c.into();
                let key = (counters.day.0, counters.waiting, counters.in_progress, counters.today);
                if last != Some(key) {
                    last = Some(key);
                    yield counters;
                }
            }
        })
    }
}
