//! The routing projection's Attendance events, applied a run at a time: the rows a run touches
//! are read once, every event moves them in memory in log order (with [`super::place`]), and
//! each table is written once, so a run of thousands of events costs a handful of statements
//! instead of several per event. The result equals applying the events one by one:
//! - counters are read, changed delta by delta with the same floor at zero, and written back;
//! - "today" counts a (agent, attendance) pair only when its row is new, as the insert reports;
//! - the logout to-do list sees deletes and inserts per attendance in the order they happened.
//!
//! A run holds Attendance events only: an agent's login or logout changes who is online, which
//! the park rule reads, so the caller applies Agent events between runs.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use domain::attendance::AttendanceEvent;
use domain::kinds::AttendanceStatus;
use serde::Serialize;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::place::{self, Delta, Move, Place};
use super::steps::{self, Steps};
use crate::counters::{self, DEFAULT_TZ};
use crate::log::StoredEvent;
use crate::rows::{
    insert_statement, replacing, ts, ts_opt, write_rows, CopyLine, TableRow, COPY_MIN_ROWS,
};

/// Applies a run of Attendance events (any other type is skipped) inside the caller's
/// transaction.
pub async fn apply_attendance_run(
    tx: &mut PgConnection,
    events: &[StoredEvent],
) -> anyhow::Result<()> {
    let decoded = decode(events)?;
    if decoded.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<Uuid> = decoded.iter().map(|(_, id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut run = Run {
        rows: load_rows(tx, &ids).await?,
        ..Run::default()
    };
    let zones = load_zones(tx, &decoded, &run.rows).await?;
    for (stored, id, ev) in &decoded {
        run.apply(stored, *id, ev, &zones);
    }
    run.write(tx).await
}

/// Attendance events that move nothing here (`place::next`): messages.
pub const MOVES_NOTHING: &[&str] = &["CustomerMessageReceived", "AgentMessageSent"];

/// The events that can move an attendance, decoded; messages move nothing (`place::next`).
fn decode(events: &[StoredEvent]) -> anyhow::Result<Vec<(&StoredEvent, Uuid, AttendanceEvent)>> {
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        if e.aggregate_type != "Attendance" || MOVES_NOTHING.contains(&e.event_type.as_str()) {
            continue;
        }
        let ev: AttendanceEvent = e.decode()?;
        out.push((e, e.aggregate_id.parse()?, ev));
    }
    Ok(out)
}

/// One row of `routing_attendances`, and whether it is stored already.
#[derive(Debug, Clone)]
struct RoutingRow {
    account_id: Uuid,
    service_id: Option<Uuid>,
    contact_id: Uuid,
    status: AttendanceStatus,
    agent_id: Option<Uuid>,
    opened_at: DateTime<Utc>,
    opened_day: NaiveDate,
    waiting_since: Option<DateTime<Utc>>,
    existed: bool,
    changed: bool,
}

impl RoutingRow {
    fn place(&self) -> Place {
        Place {
            status: self.status,
            service_id: self.service_id,
            agent_id: self.agent_id,
        }
    }
}

async fn load_rows(
    tx: &mut PgConnection,
    ids: &[Uuid],
) -> anyhow::Result<HashMap<Uuid, RoutingRow>> {
    let rows = sqlx::query(
        "SELECT attendance_id, account_id, service_id, contact_id, status, agent_id, opened_at,
                opened_day, waiting_since
           FROM routing_attendances WHERE attendance_id = ANY($1) FOR UPDATE",
    )
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let status: String = r.try_get("status")?;
        out.insert(
            r.try_get("attendance_id")?,
            RoutingRow {
                account_id: r.try_get("account_id")?,
                service_id: r.try_get("service_id")?,
                contact_id: r.try_get("contact_id")?,
                status: AttendanceStatus::parse(&status)
                    .ok_or_else(|| anyhow::anyhow!("unknown status {status}"))?,
                agent_id: r.try_get("agent_id")?,
                opened_at: r.try_get("opened_at")?,
                opened_day: r.try_get("opened_day")?,
                waiting_since: r.try_get("waiting_since")?,
                existed: true,
                changed: false,
            },
        );
    }
    Ok(out)
}

/// The time zones of the accounts the run's new attendances open in: their opening day is
/// taken there.
async fn load_zones(
    tx: &mut PgConnection,
    decoded: &[(&StoredEvent, Uuid, AttendanceEvent)],
    rows: &HashMap<Uuid, RoutingRow>,
) -> anyhow::Result<HashMap<Uuid, chrono_tz::Tz>> {
    let mut accounts: Vec<Uuid> = decoded
        .iter()
        .filter(|(_, id, _)| !rows.contains_key(id))
        .filter_map(|(_, _, ev)| match ev {
            AttendanceEvent::AttendanceOpened { account_id, .. } => Some(*account_id),
            _ => None,
        })
        .collect();
    if accounts.is_empty() {
        return Ok(HashMap::new());
    }
    accounts.sort_unstable();
    accounts.dedup();
    let found = commands::admin::accounts::get_many(&mut *tx, &accounts)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(found.into_iter().map(|a| (a.id, a.tz())).collect())
}

/// A change to the logout reactor's to-do list, in log order.
enum ParkOp {
    /// The attendance left its agent's hands: any to-do row of it is settled.
    Settle,
    /// Park it if `agent_id` is offline (an assignment that raced their logout).
    IfOffline {
        agent_id: Uuid,
        caused_by: String,
        at: Option<DateTime<Utc>>,
    },
}

/// What a run changed, gathered in log order and written at the end.
#[derive(Default)]
struct Run {
    rows: HashMap<Uuid, RoutingRow>,
    deltas: Vec<Delta>,
    /// (agent, attendance) → (account, opening day), first time each pair is taken.
    taken: Vec<(Uuid, Uuid, Uuid, NaiveDate)>,
    taken_seen: HashSet<(Uuid, Uuid)>,
    /// Agent → latest assignment time (None: taken without a time).
    last_assigned: HashMap<Uuid, Option<DateTime<Utc>>>,
    park: Vec<(Uuid, ParkOp)>,
}

impl Run {
    fn apply(
        &mut self,
        stored: &StoredEvent,
        id: Uuid,
        ev: &AttendanceEvent,
        zones: &HashMap<Uuid, chrono_tz::Tz>,
    ) {
        let (account_id, opened_day, from, m) = match ev {
            AttendanceEvent::AttendanceOpened {
                account_id,
                contact_id,
                at,
                ..
            } => {
                // A stream opens once; a row already there means this event was seen.
                if self.rows.contains_key(&id) {
                    return;
                }
                let Some(m) = place::opened(ev) else { return };
                let tz = zones.get(account_id).copied().unwrap_or(DEFAULT_TZ);
                let day = counters::local_day(tz, *at);
                self.rows.insert(
                    id,
                    RoutingRow {
                        account_id: *account_id,
                        service_id: m.to.service_id,
                        contact_id: *contact_id,
                        status: m.to.status,
                        agent_id: m.to.agent_id,
                        opened_at: *at,
                        opened_day: day,
                        waiting_since: m.queued_at,
                        existed: false,
                        changed: true,
                    },
                );
                (*account_id, day, None, m)
            }
            _ => {
                // Every stream starts with its opening; nothing to move without one.
                let Some(row) = self.rows.get_mut(&id) else {
                    return;
                };
                let from = row.place();
                let Some(m) = place::next(from, ev) else {
                    return;
                };
                row.status = m.to.status;
                row.service_id = m.to.service_id;
                row.agent_id = m.to.agent_id;
                row.waiting_since = if m.to.status == AttendanceStatus::Waiting {
                    m.queued_at.or(row.waiting_since)
                } else {
                    None
                };
                row.changed = true;
                if from.status == AttendanceStatus::InProgress
                    && (m.to.status != from.status || m.to.agent_id != from.agent_id)
                {
                    // Whatever took it out of the agent's hands (the park itself, a finalize,
                    // a transfer) settles a pending park: the list only ever names attendances
                    // still to park, so a rebuild from the log ends with the same list and
                    // never parks a later rescue.
                    self.park.push((id, ParkOp::Settle));
                }
                (row.account_id, row.opened_day, Some(from), m)
            }
        };
        self.after_move(stored, id, account_id, opened_day, from, m);
    }

    /// Counters, the taker's "today" and idle time, and a park if the taker is already offline.
    fn after_move(
        &mut self,
        stored: &StoredEvent,
        id: Uuid,
        account_id: Uuid,
        opened_day: NaiveDate,
        from: Option<Place>,
        m: Move,
    ) {
        self.deltas.extend(place::deltas(from, m.to));
        let Some(agent_id) = m.taken_by else { return };
        if self.taken_seen.insert((agent_id, id)) {
            self.taken.push((agent_id, id, account_id, opened_day));
        }
        let last = self.last_assigned.entry(agent_id).or_insert(None);
        *last = (*last).max(m.at);
        // The router can assign to an agent whose last session has just ended (it read the
        // agents read model before the logout was applied). The logout's own to-do list was
        // written before this assignment, so park it here: the log order decides, and nothing
        // is left IN_PROGRESS with someone who is gone. People's choices (a transfer to
        // someone not logged in yet) are left as they were made.
        if m.to.status == AttendanceStatus::InProgress && stored.event_type == "AttendanceAssigned"
        {
            self.park.push((
                id,
                ParkOp::IfOffline {
                    agent_id,
                    caused_by: stored.identity(),
                    at: m.at,
                },
            ));
        }
    }

    /// Writes the run: one statement for the changed routing rows, the counters (each moved by
    /// its deltas' [`Step`](super::steps::Step) from the stored value, unread), the takers'
    /// "today" and idle time and the settled to-do rows, which also tells which takers are
    /// offline; and, rarely, the parks that needs. Enough new rows for `COPY` (a catch-up) go
    /// first, on their own. The same one or two round trips whatever the run holds.
    async fn write(self, tx: &mut PgConnection) -> anyhow::Result<()> {
        let rows: Vec<(bool, RoutingRecord)> = self
            .rows
            .iter()
            .filter(|(_, r)| r.changed)
            .map(|(id, r)| (r.existed, RoutingRecord::of(*id, r)))
            .collect();
        let new = rows.iter().filter(|(existed, _)| !existed).count();
        let upserted: Vec<RoutingRecord> = if new < COPY_MIN_ROWS {
            rows.into_iter().map(|(_, r)| r).collect()
        } else {
            write_rows(&mut *tx, "routing_attendances", &["attendance_id"], rows).await?;
            Vec::new()
        };
        let (settled, parks) = park_plan(self.park);
        let changes = Changes {
            rows: &upserted,
            steps: &Steps::of(&self.deltas),
            taken: &self.taken,
            last: &self.last_assigned,
            settled: &settled,
        };
        let offline = write_changes(&mut *tx, &changes).await?;
        write_parks(tx, parks, &offline).await
    }
}

/// What [`write_changes`] writes.
struct Changes<'a> {
    /// Routing rows to insert, or to replace the stored row of.
    rows: &'a [RoutingRecord],
    steps: &'a Steps,
    taken: &'a [(Uuid, Uuid, Uuid, NaiveDate)],
    last: &'a HashMap<Uuid, Option<DateTime<Utc>>>,
    settled: &'a [Uuid],
}

impl Changes<'_> {
    fn is_empty(&self) -> bool {
        self.rows.is_empty()
            && self.steps.is_empty()
            && self.taken.is_empty()
            && self.last.is_empty()
            && self.settled.is_empty()
    }
}

/// The statement of [`write_changes`]. A counter with a row is updated from its stored value;
/// one without gets the step applied to 0 (nothing else writes counters: the projection's lock
/// is held).
static WRITE_CHANGES: LazyLock<String> = LazyLock::new(|| {
    let rows = insert_statement::<RoutingRecord>(
        "routing_attendances",
        "$1",
        &replacing::<RoutingRecord>(&["attendance_id"]),
    );
    format!(
        "WITH r AS ({rows}),
         w_in AS (
             SELECT * FROM unnest($2::uuid[], $3::int[], $4::int[]) AS u(id, floor, sum)
         ), w_up AS (
             UPDATE service_waiting_counts c SET waiting = GREATEST(u.floor, c.waiting + u.sum)
               FROM w_in u WHERE c.service_id = u.id
             RETURNING c.service_id
         ), w AS (
             INSERT INTO service_waiting_counts (service_id, waiting)
             SELECT id, GREATEST(floor, sum) FROM w_in
              WHERE id NOT IN (SELECT service_id FROM w_up)
         ), p_in AS (
             SELECT * FROM unnest($5::uuid[], $6::int[], $7::int[]) AS u(id, floor, sum)
         ), p_up AS (
             UPDATE agent_in_progress_counts c
                SET in_progress = GREATEST(u.floor, c.in_progress + u.sum)
               FROM p_in u WHERE c.agent_id = u.id
             RETURNING c.agent_id
         ), p AS (
             INSERT INTO agent_in_progress_counts (agent_id, in_progress)
             SELECT id, GREATEST(floor, sum) FROM p_in
              WHERE id NOT IN (SELECT agent_id FROM p_up)
         ), t AS (
             SELECT * FROM unnest($8::uuid[], $9::uuid[], $10::uuid[], $11::date[])
                 AS t(agent_id, attendance_id, account_id, day)
         ), first AS (
             INSERT INTO agent_daily_attendances (agent_id, attendance_id)
             SELECT agent_id, attendance_id FROM t
             ON CONFLICT DO NOTHING
             RETURNING agent_id, attendance_id
         ), today AS (
             INSERT INTO agent_daily_counters (agent_id, account_id, day, today)
             SELECT t.agent_id, t.account_id, t.day, count(*)::int
               FROM first JOIN t USING (agent_id, attendance_id)
              GROUP BY t.agent_id, t.account_id, t.day
             ON CONFLICT (agent_id, day, account_id)
                 DO UPDATE SET today = agent_daily_counters.today + EXCLUDED.today
         ), settled AS (
             DELETE FROM routing_park_todo WHERE attendance_id = ANY($12)
         ), up AS (
             INSERT INTO routing_agents (agent_id, last_assigned_at)
             SELECT * FROM unnest($13::uuid[], $14::timestamptz[])
             ON CONFLICT (agent_id) DO UPDATE
                 SET last_assigned_at = GREATEST(routing_agents.last_assigned_at, EXCLUDED.last_assigned_at)
             RETURNING agent_id, online
         )
         SELECT agent_id FROM up WHERE NOT online"
    )
});

/// Writes, in one statement (each part is empty when the run has nothing for it):
/// - the routing rows;
/// - the counters, each from its stored value and its [`Step`](super::steps::Step);
/// - each (agent, attendance) pair in the agent's "today" of its opening day, once ever: only
///   the pairs whose `agent_daily_attendances` row is new add to the day's figure;
/// - the takers' idle time (latest assignment);
/// - the removal of the settled attendances' to-do rows.
///
/// Returns the takers who are offline (as of this point of the log), which the park rule needs.
async fn write_changes(tx: &mut PgConnection, c: &Changes<'_>) -> anyhow::Result<HashSet<Uuid>> {
    if c.is_empty() {
        return Ok(HashSet::new());
    }
    let (w_ids, w_floors, w_sums) = steps::columns(&c.steps.waiting);
    let (p_ids, p_floors, p_sums) = steps::columns(&c.steps.in_progress);
    let t_agents: Vec<Uuid> = c.taken.iter().map(|t| t.0).collect();
    let t_attendances: Vec<Uuid> = c.taken.iter().map(|t| t.1).collect();
    let t_accounts: Vec<Uuid> = c.taken.iter().map(|t| t.2).collect();
    let t_days: Vec<NaiveDate> = c.taken.iter().map(|t| t.3).collect();
    let (l_agents, l_times): (Vec<Uuid>, Vec<Option<DateTime<Utc>>>) =
        c.last.iter().map(|(a, t)| (*a, *t)).unzip();
    let offline: Vec<Uuid> = sqlx::query_scalar(&WRITE_CHANGES)
        .bind(serde_json::to_string(c.rows)?)
        .bind(&w_ids)
        .bind(&w_floors)
        .bind(&w_sums)
        .bind(&p_ids)
        .bind(&p_floors)
        .bind(&p_sums)
        .bind(&t_agents)
        .bind(&t_attendances)
        .bind(&t_accounts)
        .bind(&t_days)
        .bind(c.settled)
        .bind(&l_agents)
        .bind(&l_times)
        .fetch_all(&mut *tx)
        .await?;
    Ok(offline.into_iter().collect())
}

/// A to-do row to add: (agent, the event that asked, when).
type ParkRow = (Uuid, String, Option<DateTime<Utc>>);

/// The to-do list's changes, taken per attendance in log order: a settle removes every row of it
/// (stored or added earlier in the run), a park adds one unless that (attendance, agent) row is
/// already there. Returns the settled attendances and the rows to add if their agent is offline
/// (known once [`write_changes`] ran; filtering then keeps what filtering in order would).
fn park_plan(ops: Vec<(Uuid, ParkOp)>) -> (Vec<Uuid>, HashMap<Uuid, Vec<ParkRow>>) {
    let mut settled: HashSet<Uuid> = HashSet::new();
    let mut added: HashMap<Uuid, Vec<ParkRow>> = HashMap::new();
    for (id, op) in ops {
        match op {
            ParkOp::Settle => {
                settled.insert(id);
                added.remove(&id);
            }
            ParkOp::IfOffline {
                agent_id,
                caused_by,
                at,
            } => {
                let rows = added.entry(id).or_default();
                if !rows.iter().any(|(a, _, _)| *a == agent_id) {
                    rows.push((agent_id, caused_by, at));
                }
            }
        }
    }
    (settled.into_iter().collect(), added)
}

/// Adds the planned to-do rows whose agent is `offline`.
async fn write_parks(
    tx: &mut PgConnection,
    added: HashMap<Uuid, Vec<ParkRow>>,
    offline: &HashSet<Uuid>,
) -> anyhow::Result<()> {
    let mut ids = Vec::new();
    let mut agents = Vec::new();
    let mut causes = Vec::new();
    let mut times = Vec::new();
    for (id, rows) in added {
        for (agent_id, caused_by, at) in rows {
            if offline.contains(&agent_id) {
                ids.push(id);
                agents.push(agent_id);
                causes.push(caused_by);
                times.push(at);
            }
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO routing_park_todo (attendance_id, agent_id, caused_by, created_at)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[])
         ON CONFLICT DO NOTHING",
    )
    .bind(&ids)
    .bind(&agents)
    .bind(&causes)
    .bind(&times)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The stored form of a [`RoutingRow`].
#[derive(Serialize)]
struct RoutingRecord {
    attendance_id: Uuid,
    account_id: Uuid,
    service_id: Option<Uuid>,
    contact_id: Uuid,
    status: &'static str,
    agent_id: Option<Uuid>,
    opened_at: String,
    opened_day: NaiveDate,
    waiting_since: Option<String>,
}

impl RoutingRecord {
    fn of(id: Uuid, r: &RoutingRow) -> Self {
        Self {
            attendance_id: id,
            account_id: r.account_id,
            service_id: r.service_id,
            contact_id: r.contact_id,
            status: r.status.as_str(),
            agent_id: r.agent_id,
            opened_at: ts(r.opened_at),
            opened_day: r.opened_day,
            waiting_since: ts_opt(r.waiting_since),
        }
    }
}

impl TableRow for RoutingRecord {
    const COLUMNS: &'static [&'static str] = &[
        "attendance_id",
        "account_id",
        "service_id",
        "contact_id",
        "status",
        "agent_id",
        "opened_at",
        "opened_day",
        "waiting_since",
    ];

    fn copy_fields(&self, l: &mut CopyLine) -> anyhow::Result<()> {
        l.uuid(Some(self.attendance_id));
        l.uuid(Some(self.account_id));
        l.uuid(self.service_id);
        l.uuid(Some(self.contact_id));
        l.text(Some(self.status));
        l.uuid(self.agent_id);
        l.text(Some(&self.opened_at));
        l.date(Some(self.opened_day));
        l.text(self.waiting_since.as_deref());
        Ok(())
    }
}
