//! The measured operations, each in two forms: through the server's GraphQL API over HTTP, and
//! the raw baseline — the same-shape SQL sent straight to PostgreSQL with sqlx (the event row the
//! command writes, same columns and payload size, and the read-model rows its projection
//! updates, in one transaction per command). The raw writes go to copies of the tables in schema
//! `bench_raw` (same definitions and indexes; the server's log and read models stay untouched);
//! the raw reads run the read models' queries on the live tables.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::attendance::{AttendanceEvent, MessageContent};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::api::Api;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Inbound,
    Send,
    PendingRescue,
    Finalize50,
    PendingList,
    Counters,
}

impl Op {
    pub const ALL: [Op; 6] = [
        Op::Inbound,
        Op::Send,
        Op::PendingRescue,
        Op::Finalize50,
        Op::PendingList,
        Op::Counters,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::Inbound => "receiveInboundMessage",
            Op::Send => "sendMessage",
            Op::PendingRescue => "markPending+rescueAttendance",
            Op::Finalize50 => "finalizeAttendances(50 ids)",
            Op::PendingList => "pendingAttendances(first:50)",
            Op::Counters => "counters",
        }
    }

    /// The schema fields it needs.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Op::Inbound => &["receiveInboundMessage"],
            Op::Send => &["sendMessage"],
            Op::PendingRescue => &["markPending", "rescueAttendance"],
            Op::Finalize50 => &["finalizeAttendances"],
            Op::PendingList => &["pendingAttendances"],
            Op::Counters => &["counters"],
        }
    }
}

pub const INBOUND_Q: &str =
    "mutation($i: InboundMessageInput!) { receiveInboundMessage(input: $i) { id status lastInteractionAt } }";
pub const SEND_Q: &str = "mutation($a: UUID!, $t: String!) { sendMessage(attendanceId: $a, input: {text: $t}) { id at } }";
const MARK_Q: &str = "mutation($a: UUID!) { markPending(attendanceId: $a) { id status } }";
const RESCUE_Q: &str = "mutation($a: UUID!) { rescueAttendance(attendanceId: $a) { id status } }";
const FINALIZE_Q: &str =
    "mutation($ids: [UUID!]!) { finalizeAttendances(attendanceIds: $ids) { succeeded failed { attendanceId code message } } }";
pub const PENDING_Q: &str = "{ pendingAttendances(first: 50) { totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id protocol status channel lastInteractionAt lastMessagePreview contact { id name } } } } }";
pub const COUNTERS_Q: &str = "{ counters { day waiting inProgress today } }";

pub const INBOUND_TEXT: &str = "Oi, alguma novidade sobre a entrega? Obrigado!";
pub const AGENT_TEXT: &str = "Verifiquei aqui: o pedido saiu para entrega hoje e chega até as 18h.";

/// What one client works on.
#[derive(Debug, Clone, Default)]
pub struct Work {
    pub token: String,
    pub agent_id: Uuid,
    /// Attendances to rotate over (send, pair) or to consume (finalize).
    pub attendances: Vec<Uuid>,
    /// (account, phone, attendance) for inbound messages.
    pub targets: Vec<(Uuid, String, Uuid)>,
}

/// One simulated client.
pub enum Client {
    Server {
        api: Api,
        op: Op,
        work: Work,
        cursor: usize,
    },
    Raw {
        raw: Arc<Raw>,
        op: Op,
        work: Work,
        cursor: usize,
    },
}

/// Whether a request could be made (false: the client's stock is used up).
type Step = anyhow::Result<bool>;

impl Client {
    /// One operation; a pair also adds the latency of each of its mutations to `each`.
    async fn once(&mut self, each: &mut Vec<u64>) -> Step {
        match self {
            Client::Server {
                api,
                op,
                work,
                cursor,
            } => server_once(api, *op, work, cursor, each).await,
            Client::Raw {
                raw,
                op,
                work,
                cursor,
            } => raw.once(*op, work, cursor, each).await,
        }
    }
}

/// Runs `step`, adding its latency in microseconds to `each`.
async fn timed<T>(each: &mut Vec<u64>, step: impl Future<Output = T>) -> T {
    let t = Instant::now();
    let out = step.await;
    each.push(t.elapsed().as_micros() as u64);
    out
}

fn graphql_errors(v: &Value) -> Option<String> {
    let errors = v.get("errors")?.as_array()?;
    let e = errors.first()?;
    Some(format!(
        "{} ({})",
        e["message"].as_str().unwrap_or("?"),
        e["extensions"]["code"].as_str().unwrap_or("no code")
    ))
}

async fn call(api: &Api, token: &str, q: &str, vars: Value) -> anyhow::Result<Value> {
    let v = api.raw(Some(token), q, vars).await?;
    if let Some(e) = graphql_errors(&v) {
        anyhow::bail!(e);
    }
    Ok(v)
}

async fn server_once(api: &Api, op: Op, w: &Work, cursor: &mut usize, each: &mut Vec<u64>) -> Step {
    let i = *cursor;
    *cursor += 1;
    match op {
        Op::Inbound => {
            let (account, phone, _) = &w.targets[i % w.targets.len()];
            let vars = json!({"i": {"accountId": account, "channel": "WHATSAPP", "from": phone,
                                    "text": INBOUND_TEXT, "externalMessageId": format!("wamid.{}", Uuid::new_v4().simple())}});
            call(api, &w.token, INBOUND_Q, vars).await?;
        }
        Op::Send => {
            let a = w.attendances[i % w.attendances.len()];
            call(api, &w.token, SEND_Q, json!({"a": a, "t": AGENT_TEXT})).await?;
        }
        Op::PendingRescue => {
            let a = w.attendances[i % w.attendances.len()];
            timed(each, call(api, &w.token, MARK_Q, json!({"a": a}))).await?;
            timed(each, call(api, &w.token, RESCUE_Q, json!({"a": a}))).await?;
        }
        Op::Finalize50 => {
            let start = i * 50;
            if start + 50 > w.attendances.len() {
                *cursor -= 1;
                return Ok(false);
            }
            let ids = &w.attendances[start..start + 50];
            let v = call(api, &w.token, FINALIZE_Q, json!({"ids": ids})).await?;
            let failed = &v["data"]["finalizeAttendances"]["failed"];
            if let Some(f) = failed.as_array().and_then(|f| f.first()) {
                anyhow::bail!(
                    "{} of 50 failed, e.g. {} {}",
                    failed.as_array().unwrap().len(),
                    f["code"],
                    f["message"]
                );
            }
        }
        Op::PendingList => {
            call(api, &w.token, PENDING_Q, json!({})).await?;
        }
        Op::Counters => {
            call(api, &w.token, COUNTERS_Q, json!({})).await?;
        }
    }
    Ok(true)
}

/// The raw baseline's connection and the facts of the attendances it writes.
pub struct Raw {
    pub pool: PgPool,
    /// id → (account, contact, state as stored, agent).
    facts: HashMap<Uuid, (Uuid, Uuid, Value, Option<Uuid>)>,
    /// Sequences of raw events: unique, far above the real streams' (a separate table anyway).
    seq: AtomicI64,
}

/// Copies of the tables the measured commands write, with the same rows and indexes as the
/// server's (an index of 5,000,000 events costs an insert more than an empty one does). Each is
/// loaded before its indexes are built, then vacuumed and analysed as the server's tables are
/// (see `seed`). The events copy keeps the notify trigger, as the log has one.
pub const RAW_SCHEMA: &str = r#"
DROP SCHEMA IF EXISTS bench_raw CASCADE;
CREATE SCHEMA bench_raw;
DO $$
DECLARE
    t text;
    i record;
BEGIN
    FOREACH t IN ARRAY ARRAY['events', 'attendances', 'attendance_messages', 'contact_windows',
                             'routing_attendances', 'agent_in_progress_counts',
                             'inbound_message_ids', 'attendance_open_keys'] LOOP
        EXECUTE format('CREATE TABLE bench_raw.%I (LIKE public.%I INCLUDING ALL EXCLUDING INDEXES)', t, t);
        EXECUTE format('INSERT INTO bench_raw.%I SELECT * FROM public.%I', t, t);
        FOR i IN SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index
                  WHERE indrelid = format('public.%I', t)::regclass LOOP
            EXECUTE replace(i.def, format(' ON public.%s ', t), format(' ON bench_raw.%s ', t));
        END LOOP;
    END LOOP;
END $$;
CREATE FUNCTION bench_raw.notify_events() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN PERFORM pg_notify('bench_raw_events', ''); RETURN NULL; END $$;
CREATE TRIGGER events_notify AFTER INSERT ON bench_raw.events FOR EACH STATEMENT EXECUTE FUNCTION bench_raw.notify_events();
"#;

/// Run after [`RAW_SCHEMA`], outside a transaction.
pub const RAW_VACUUM: &str =
    "VACUUM (ANALYZE) bench_raw.events, bench_raw.attendances, bench_raw.attendance_messages,
    bench_raw.contact_windows, bench_raw.routing_attendances, bench_raw.agent_in_progress_counts,
    bench_raw.inbound_message_ids, bench_raw.attendance_open_keys";

const INSERT_EVENT: &str = "INSERT INTO bench_raw.events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                            VALUES ('Attendance', $1, $2, $3, '1.0', $4, $5)";
const RAW_PAGE: &str = "SELECT a.id, a.version, a.protocol, a.account_id, a.contact_id, a.channel, a.direction, a.status,
        a.destination_type, a.service_id, a.flow_id, a.agent_id, a.opened_by, a.opened_at, a.last_interaction_at,
        a.last_inbound_at, a.last_message_preview, a.finalized_at, a.finalize_reason, a.survey_requested,
        a.message_count, c.name
   FROM attendances a LEFT JOIN contacts c ON c.id = a.contact_id
  WHERE a.agent_id = $1 AND a.status = 'PENDING'
  ORDER BY a.last_interaction_at DESC, a.id DESC LIMIT 51";
const RAW_COUNT: &str =
    "SELECT count(*) FROM attendances a WHERE a.agent_id = $1 AND a.status = 'PENDING'";
const RAW_COUNTERS: &str = "SELECT
    (SELECT COALESCE(sum(w.waiting), 0) FROM service_waiting_counts w
      WHERE w.service_id = ANY(COALESCE((SELECT service_ids FROM agents WHERE id = $1), '{}'))) AS waiting,
    (SELECT COALESCE(sum(p.in_progress), 0) FROM agent_in_progress_counts p WHERE p.agent_id = $1) AS in_progress,
    (SELECT COALESCE(sum(d.today), 0) FROM agent_daily_counters d WHERE d.agent_id = $1 AND d.day = $2) AS today";

fn metadata(actor: &str) -> Value {
    json!({"at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true), "actor": actor,
           "correlation_id": Uuid::new_v4().to_string()})
}

impl Raw {
    pub async fn new(pool: PgPool) -> anyhow::Result<Raw> {
        let rows: Vec<(Uuid, Uuid, Uuid, Value, Option<Uuid>)> = sqlx::query_as(
            "SELECT id, account_id, contact_id, state, agent_id FROM bench_raw.attendances
              WHERE status <> 'FINALIZED'",
        )
        .fetch_all(&pool)
        .await?;
        let facts = rows
            .into_iter()
            .map(|(id, acc, con, st, ag)| (id, (acc, con, st, ag)))
            .collect();
        Ok(Raw {
            pool,
            facts,
            seq: AtomicI64::new(1_000_000_000),
        })
    }

    fn next_seq(&self) -> i64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    async fn once(&self, op: Op, w: &Work, cursor: &mut usize, each: &mut Vec<u64>) -> Step {
        let i = *cursor;
        *cursor += 1;
        match op {
            Op::Inbound => {
                let (_, _, a) = &w.targets[i % w.targets.len()];
                self.message(*a, None).await?;
            }
            Op::Send => {
                let a = w.attendances[i % w.attendances.len()];
                self.message(a, Some(w.agent_id)).await?;
            }
            Op::PendingRescue => {
                let a = w.attendances[i % w.attendances.len()];
                timed(each, self.move_status(a, w.agent_id, "PENDING", -1)).await?;
                timed(each, self.move_status(a, w.agent_id, "IN_PROGRESS", 1)).await?;
            }
            Op::Finalize50 => {
                // Cycles through the client's stock: the raw copy has no state rule to refuse a
                // second finalize, and the rows written are the same.
                let n = w.attendances.len();
                let ids: Vec<Uuid> = (0..50).map(|k| w.attendances[(i * 50 + k) % n]).collect();
                self.finalize_all(&ids, w.agent_id).await?;
            }
            Op::PendingList => {
                let _rows = sqlx::query(RAW_PAGE)
                    .bind(w.agent_id)
                    .fetch_all(&self.pool)
                    .await?;
                let _n: i64 = sqlx::query_scalar(RAW_COUNT)
                    .bind(w.agent_id)
                    .fetch_one(&self.pool)
                    .await?;
            }
            Op::Counters => {
                let _row = sqlx::query(RAW_COUNTERS)
                    .bind(w.agent_id)
                    .bind(Utc::now().date_naive())
                    .fetch_one(&self.pool)
                    .await?;
            }
        }
        Ok(true)
    }

    /// A customer message (agent None) or an agent's message into attendance `a`.
    async fn message(&self, a: Uuid, agent: Option<Uuid>) -> anyhow::Result<()> {
        let (account, contact, state, _) = self
            .facts
            .get(&a)
            .ok_or_else(|| anyhow::anyhow!("no raw copy of {a}"))?;
        let now = Utc::now();
        let message_id = Uuid::new_v4();
        let external = format!("wamid.{}", Uuid::new_v4().simple());
        let (event, actor, text) = match agent {
            None => (
                AttendanceEvent::CustomerMessageReceived {
                    message_id,
                    text: Some(INBOUND_TEXT.into()),
                    attachments: vec![],
                    external_id: Some(external.clone()),
                    at: now,
                },
                "integration:whatsapp-gateway".to_string(),
                INBOUND_TEXT,
            ),
            Some(agent_id) => (
                AttendanceEvent::AgentMessageSent {
                    message_id,
                    agent_id,
                    content: MessageContent::Text {
                        text: AGENT_TEXT.into(),
                    },
                    attachments: vec![],
                    at: now,
                },
                agent_id.to_string(),
                AGENT_TEXT,
            ),
        };
        let event_type = if agent.is_none() {
            "CustomerMessageReceived"
        } else {
            "AgentMessageSent"
        };
        let seq = self.next_seq();
        let mut tx = self.pool.begin().await?;
        if agent.is_none() {
            sqlx::query(
                "INSERT INTO bench_raw.inbound_message_ids (account_id, channel, external_id, attendance_id, claimed_at)
                 VALUES ($1, 'WHATSAPP', $2, $3, $4)",
            )
            .bind(account)
            .bind(&external)
            .bind(a)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(INSERT_EVENT)
            .bind(a.to_string())
            .bind(seq)
            .bind(event_type)
            .bind(serde_json::to_value(&event)?)
            .bind(metadata(&actor))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE bench_raw.attendances SET version = version + 1, last_interaction_at = $2,
                    last_inbound_at = CASE WHEN $5 THEN $2 ELSE last_inbound_at END,
                    last_message_preview = $3, message_count = message_count + 1, state = $4
              WHERE id = $1",
        )
        .bind(a)
        .bind(now)
        .bind(text)
        .bind(state)
        .bind(agent.is_none())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO bench_raw.attendance_messages (id, attendance_id, seq, author, agent_id, text, attachments, external_id, at)
             VALUES ($1, $2, $3, $4, $5, $6, '[]', $7, $8)",
        )
        .bind(message_id)
        .bind(a)
        .bind(seq)
        .bind(if agent.is_none() { "CONTACT" } else { "AGENT" })
        .bind(agent)
        .bind(text)
        .bind(agent.is_none().then_some(&external))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if agent.is_none() {
            sqlx::query(
                "INSERT INTO bench_raw.contact_windows (account_id, contact_id, channel, last_inbound_at) VALUES ($1, $2, 'WHATSAPP', $3)
                 ON CONFLICT (account_id, contact_id, channel) DO UPDATE
                   SET last_inbound_at = GREATEST(contact_windows.last_inbound_at, EXCLUDED.last_inbound_at)",
            )
            .bind(account)
            .bind(contact)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A bulk finalize of `ids` as PostgreSQL takes it fastest: one transaction, one statement
    /// per table for all of them (the events, the attendance rows, the routing rows, the agent's
    /// counter moved once by the number of ids, the open keys), so its rate is the machine's
    /// limit for these rows rather than for 250 round trips.
    async fn finalize_all(&self, ids: &[Uuid], agent_id: Uuid) -> anyhow::Result<()> {
        let now = Utc::now();
        let event = serde_json::to_value(AttendanceEvent::AttendanceFinalized {
            by: agent_id,
            agent_id: Some(agent_id),
            reason: None,
            survey_requested: false,
            bulk: true,
            at: now,
        })?;
        let mut streams = Vec::with_capacity(ids.len());
        let mut sequences = Vec::with_capacity(ids.len());
        let mut states = Vec::with_capacity(ids.len());
        for a in ids {
            let (_, _, state, _) = self
                .facts
                .get(a)
                .ok_or_else(|| anyhow::anyhow!("no raw copy of {a}"))?;
            streams.push(a.to_string());
            sequences.push(self.next_seq());
            states.push(state.clone());
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO bench_raw.events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             SELECT 'Attendance', s.id, s.seq, 'AttendanceFinalized', '1.0', $3, $4
               FROM unnest($1::text[], $2::bigint[]) AS s(id, seq)",
        )
        .bind(&streams)
        .bind(&sequences)
        .bind(&event)
        .bind(metadata(&agent_id.to_string()))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE bench_raw.attendances a SET version = a.version + 1, status = 'FINALIZED',
                    last_interaction_at = $3, finalized_at = $3, state = s.state
               FROM unnest($1::uuid[], $2::jsonb[]) AS s(id, state)
              WHERE a.id = s.id",
        )
        .bind(ids)
        .bind(&states)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE bench_raw.routing_attendances SET status = 'FINALIZED' WHERE attendance_id = ANY($1)",
        )
        .bind(ids)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE bench_raw.agent_in_progress_counts SET in_progress = GREATEST(in_progress - $2, 0) WHERE agent_id = $1",
        )
        .bind(agent_id)
        .bind(ids.len() as i32)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM bench_raw.attendance_open_keys WHERE attendance_id = ANY($1)")
            .bind(ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// markPending (`PENDING`) or rescue (`IN_PROGRESS`) of one attendance in a transaction of
    /// its own: its event, the attendance row, the routing row and the agent's in-progress
    /// counter.
    async fn move_status(
        &self,
        a: Uuid,
        agent_id: Uuid,
        status: &str,
        delta: i32,
    ) -> anyhow::Result<()> {
        let (_, _, state, _) = self
            .facts
            .get(&a)
            .ok_or_else(|| anyhow::anyhow!("no raw copy of {a}"))?;
        let now = Utc::now();
        let (event, event_type) = if status == "PENDING" {
            let event = AttendanceEvent::AttendanceMarkedPending {
                agent_id,
                by_logout: false,
                at: now,
            };
            (event, "AttendanceMarkedPending")
        } else {
            let event = AttendanceEvent::AttendanceRescued { agent_id, at: now };
            (event, "AttendanceRescued")
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query(INSERT_EVENT)
            .bind(a.to_string())
            .bind(self.next_seq())
            .bind(event_type)
            .bind(serde_json::to_value(&event)?)
            .bind(metadata(&agent_id.to_string()))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE bench_raw.attendances SET version = version + 1, status = $2, last_interaction_at = $3,
                    finalized_at = NULL, state = $4
              WHERE id = $1",
        )
        .bind(a)
        .bind(status)
        .bind(now)
        .bind(state)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE bench_raw.routing_attendances SET status = $2 WHERE attendance_id = $1",
        )
        .bind(a)
        .bind(status)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE bench_raw.agent_in_progress_counts SET in_progress = GREATEST(in_progress + $2, 0) WHERE agent_id = $1",
        )
        .bind(agent_id)
        .bind(delta)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// What one level (op × client count) measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub exhausted_clients: usize,
    pub seconds: f64,
    pub latencies_us: Vec<u64>,
    /// For an operation of several mutations (the pair): the latency of each mutation.
    pub each_command_us: Vec<u64>,
    pub max_rss_kib: Option<u64>,
}

impl Outcome {
    pub fn throughput(&self) -> f64 {
        if self.seconds > 0.0 {
            self.ok as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Latency percentile in milliseconds.
    pub fn pct_ms(&self, p: f64) -> f64 {
        percentile_ms(&self.latencies_us, p)
    }

    /// Percentile of each mutation's latency, in milliseconds (NaN for single mutations).
    pub fn each_pct_ms(&self, p: f64) -> f64 {
        percentile_ms(&self.each_command_us, p)
    }
}

/// Percentile `p` of `sorted` (microseconds) in milliseconds; NaN when empty.
fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// Runs `clients` concurrently for `duration`; while running, samples the RSS of `pid`.
pub async fn run(clients: Vec<Client>, duration: Duration, pid: Option<u32>) -> Outcome {
    let start = Instant::now();
    let deadline = start + duration;
    let sampler = pid.map(|pid| {
        tokio::spawn(async move {
            let mut max = 0;
            while Instant::now() < deadline {
                if let Some(r) = crate::db::rss_kib(pid) {
                    max = max.max(r);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            max
        })
    });
    let mut handles = Vec::new();
    let clients_n = clients.len();
    let last_stop = Arc::new(std::sync::Mutex::new(0.0f64));
    for mut c in clients {
        let last_stop = Arc::clone(&last_stop);
        handles.push(tokio::spawn(async move {
            let mut o = Outcome::default();
            while Instant::now() < deadline {
                let t = Instant::now();
                let mut each = Vec::new();
                match c.once(&mut each).await {
                    Ok(true) => {
                        o.each_command_us.extend(each);
                        o.ok += 1;
                        o.latencies_us.push(t.elapsed().as_micros() as u64);
                    }
                    Ok(false) => {
                        o.exhausted_clients = 1;
                        if let Ok(mut t) = last_stop.lock() {
                            *t = t.max(start.elapsed().as_secs_f64());
                        }
                        break;
                    }
                    Err(e) => {
                        o.errors += 1;
                        if o.first_error.is_none() {
                            o.first_error = Some(format!("{e:#}"));
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            o
        }));
    }
    let mut total = Outcome::default();
    for h in handles {
        let o = h.await.expect("a client task");
        total.ok += o.ok;
        total.errors += o.errors;
        total.exhausted_clients += o.exhausted_clients;
        if total.first_error.is_none() {
            total.first_error = o.first_error;
        }
        total.latencies_us.extend(o.latencies_us);
        total.each_command_us.extend(o.each_command_us);
    }
    // Clients that used up their stock stopped early: the rate is over the time the last one
    // was still working, not over time nobody was calling.
    let all_stopped = total.exhausted_clients > 0 && total.exhausted_clients == clients_n;
    total.seconds = if all_stopped {
        last_stop.lock().map(|t| *t).unwrap_or(0.0).max(1e-3)
    } else {
        start.elapsed().as_secs_f64().max(duration.as_secs_f64())
    };
    total.latencies_us.sort_unstable();
    total.each_command_us.sort_unstable();
    if let Some(s) = sampler {
        total.max_rss_kib = s.await.ok().filter(|m| *m > 0);
    }
    total
}
