//! The stream of changes: a customer message on one of the target attendances, at a fixed rate
//! (open loop: change k is due at k / rate seconds; a late worker sends at once and the delay
//! counts in the latency, which runs from the actual send).
//!
//! - `sql`: the event a `receiveInboundMessage` writes (`CustomerMessageReceived`, the domain's
//!   own serialization) inserted into `events`, as a command would, with its NOTIFY; the
//!   server's projections apply it and its change feed delivers it. This isolates the feed and
//!   the websocket fan-out from the command path (whose throughput on this machine is below
//!   200/s: docs/benchmarks.md, the load benchmark). One worker per group of attendances, so one
//!   attendance's events are inserted in order.
//! - `api`: `receiveInboundMessage` through the API with the integration token (the whole
//!   path), up to [`API_WORKERS`] requests in flight.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::attendance::AttendanceEvent;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::api::Api;

/// Text of every change; `bench#<k>` in front tells the subscriber which change it is.
const TEXT: &str = "Oi, alguma novidade sobre a entrega? Obrigado!";

/// Requests in flight at most with the API driver.
const API_WORKERS: usize = 64;

/// Insert workers of the SQL driver.
const SQL_WORKERS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Sql,
    Api,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub attendance: Uuid,
    /// Index of the seat (logged-in agent) owning it.
    pub seat: usize,
    pub account: Uuid,
    pub phone: String,
    /// Its stream's last sequence.
    pub sequence: i64,
}

/// One change sent.
#[derive(Debug, Clone, Copy)]
pub struct Change {
    pub target: usize,
    /// Microseconds since the fleet's clock started.
    pub sent_us: u64,
    pub done_us: u64,
    pub ok: bool,
}

/// Sorted samples in milliseconds.
#[derive(Debug, Default, Clone)]
pub struct Hist(pub Vec<f64>);

impl Hist {
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| a.total_cmp(b));
    }
    pub fn pct(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let i = ((p / 100.0) * (self.0.len() - 1) as f64).round() as usize;
        self.0[i.min(self.0.len() - 1)]
    }
}

#[derive(Debug, Default)]
pub struct Outcome {
    /// Indexed by change number.
    pub changes: Vec<Change>,
    pub errors: usize,
    pub first_error: Option<String>,
    pub seconds: f64,
    /// Send to commit (SQL) or to response (API).
    pub commit: Hist,
    /// The last sequence written per attendance (SQL driver).
    pub sequences: HashMap<Uuid, i64>,
}

impl Outcome {
    pub fn sent(&self) -> usize {
        self.changes.iter().filter(|c| c.ok).count()
    }
}

pub fn change_text(k: usize) -> String {
    format!("bench#{k} {TEXT}")
}

/// Parses `bench#<k> …`.
pub fn change_of(text: &str) -> Option<usize> {
    text.strip_prefix("bench#")?.split(' ').next()?.parse().ok()
}

#[allow(clippy::too_many_arguments)]
pub async fn run(
    driver: Driver,
    pool: &PgPool,
    base: &str,
    integration_token: &str,
    targets: &[Target],
    rate: f64,
    duration: Duration,
    clock: Instant,
) -> Outcome {
    let total = (rate * duration.as_secs_f64()).round() as usize;
    let start = Instant::now() + Duration::from_millis(50);
    let due = move |k: usize| start + Duration::from_secs_f64(k as f64 / rate);
    let us = move || clock.elapsed().as_micros() as u64;
    let workers = match driver {
        Driver::Sql => SQL_WORKERS.min(targets.len()),
        Driver::Api => API_WORKERS,
    };
    let mut tasks = Vec::new();
    for w in 0..workers {
        // Change k goes to target k % T; the SQL driver's worker of a change is its target's,
        // so one attendance's events are written in order.
        let mine: Vec<usize> = (0..total)
            .filter(|k| match driver {
                Driver::Sql => (k % targets.len()) % workers == w,
                Driver::Api => k % workers == w,
            })
            .collect();
        let targets = targets.to_vec();
        let pool = pool.clone();
        let api = Api::new(base);
        let token = integration_token.to_string();
        tasks.push(tokio::spawn(async move {
            let mut out: Vec<(usize, Change, Option<String>)> = Vec::new();
            let mut seqs: HashMap<Uuid, i64> = HashMap::new();
            for k in mine {
                tokio::time::sleep_until(due(k).into()).await;
                let t = k % targets.len();
                let target = &targets[t];
                let sent_us = us();
                let r = match driver {
                    Driver::Sql => {
                        let seq = seqs.entry(target.attendance).or_insert(target.sequence);
                        let r = insert(&pool, target.attendance, *seq + 1, k).await;
                        if r.is_ok() {
                            *seq += 1;
                        }
                        r
                    }
                    Driver::Api => inbound(&api, &token, target, k).await,
                };
                let done_us = us();
                let ok = r.is_ok();
                out.push((
                    k,
                    Change {
                        target: t,
                        sent_us,
                        done_us,
                        ok,
                    },
                    r.err().map(|e| format!("{e:#}")),
                ));
            }
            (out, seqs)
        }));
    }
    let mut o = Outcome {
        changes: vec![
            Change {
                target: 0,
                sent_us: 0,
                done_us: 0,
                ok: false,
            };
            total
        ],
        ..Default::default()
    };
    for t in tasks {
        let Ok((changes, seqs)) = t.await else {
            continue;
        };
        for (k, c, err) in changes {
            if let Some(e) = err {
                o.errors += 1;
                o.first_error.get_or_insert(e);
            } else {
                o.commit.0.push((c.done_us - c.sent_us) as f64 / 1000.0);
            }
            o.changes[k] = c;
        }
        o.sequences.extend(seqs);
    }
    o.seconds = start.elapsed().as_secs_f64();
    o.commit.sort();
    o
}

/// The event `receiveInboundMessage` would append, as its own transaction.
async fn insert(pool: &PgPool, attendance: Uuid, sequence: i64, k: usize) -> anyhow::Result<()> {
    let now = Utc::now();
    let event = AttendanceEvent::CustomerMessageReceived {
        message_id: Uuid::new_v4(),
        text: Some(change_text(k)),
        attachments: vec![],
        external_id: None,
        at: now,
    };
    let metadata = json!({
        "at": now,
        "actor": "integration:whatsapp-gateway",
        "correlation_id": Uuid::new_v4(),
    });
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Attendance', $1, $2, 'CustomerMessageReceived', '1.0', $3, $4)",
    )
    .bind(attendance.to_string())
    .bind(sequence)
    .bind(serde_json::to_value(&event)?)
    .bind(metadata)
    .execute(pool)
    .await?;
    Ok(())
}

async fn inbound(api: &Api, token: &str, target: &Target, k: usize) -> anyhow::Result<()> {
    api.ok(
        Some(token),
        "mutation($i: InboundMessageInput!) { receiveInboundMessage(input: $i) { id } }",
        json!({"i": {"accountId": target.account, "channel": "WHATSAPP", "from": target.phone,
                     "text": change_text(k), "externalMessageId": format!("wamid.{}", Uuid::new_v4().simple())}}),
    )
    .await?;
    Ok(())
}
