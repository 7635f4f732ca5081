//! Seeds a realistic world: accounts, services, an integration token and the first agent through
//! the GraphQL API (small volumes, real use cases), then agents, contacts and attendances as
//! EVENTS inserted with `INSERT … SELECT` over a plan built with `generate_series`, plus the
//! use-case tables the commands keep beside the log (`agent_emails`, `contact_phone_keys`,
//! `attendance_open_keys`). The payloads are the domain's own serde output: each event type is
//! serialized once from `domain` values holding sentinel ids/times, and SQL substitutes the
//! sentinels per row, so a change of an event's shape changes the seed with it. The read models
//! are then built by the running server's projections; how long that catch-up takes is reported
//! (a replay-speed figure).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use domain::agent::AgentEvent;
use domain::attendance::{AttendanceEvent, Destination, MessageContent};
use domain::contact::{ContactEvent, ContactProfile};
use domain::kinds::{AttendanceStatus, ChannelType, Direction, Role};
use domain::values::{Email, Phone};
use futures::StreamExt;
use serde_json::json;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::api::Api;
use crate::Config;

pub const PASSWORD: &str = "bench password 1";
const ADMIN_EMAIL: &str = "admin@bench.test";

// Sentinels: values that cannot occur in real rows, replaced per row by SQL.
const S_ATT: &str = "00000000-0000-4000-8000-0000000a77e0";
const S_ACC: &str = "00000000-0000-4000-8000-0000000acc00";
const S_CON: &str = "00000000-0000-4000-8000-0000000c0c00";
const S_SVC: &str = "00000000-0000-4000-8000-00000005e1c0";
const S_AGT: &str = "00000000-0000-4000-8000-0000000a9e10";
const S_MSG: &str = "00000000-0000-4000-8000-00000003e550";
const S_PROTOCOL: &str = "PROTOCOL-SENTINEL";
const S_NAME: &str = "NAME-SENTINEL";
const S_EMAIL: &str = "email-sentinel@bench.invalid";
const S_PHONE: &str = "+5511988887777";
/// chrono serializes this as `2001-02-03T04:05:06Z`.
const S_AT: &str = "2001-02-03T04:05:06Z";
/// Before the message id, in the seeded customer messages' gateway ids.
const EXTERNAL_ID_PREFIX: &str = "wamid.";

const CUSTOMER_TEXT: &str = "Olá, boa tarde! Meu pedido 48213 ainda não chegou, podem verificar?";
const AGENT_TEXT: &str = "Boa tarde! Claro, vou verificar o status do seu pedido agora mesmo.";

/// Open attendances per agent of each group (see [`Plan`]).
const ACTIVE_IN_PROGRESS: i32 = 25; // 20 for sendMessage, 5 for markPending+rescue
const ACTIVE_PENDING: i32 = 60; // more than the first page of 50
const BACKGROUND_IN_PROGRESS: i32 = 3;
const BACKGROUND_PENDING: i32 = 10;
const SEND_ROTATION: usize = 20;

/// Who does what. Agent index layout: `[0, max_clients)` active agents (one per client of
/// sendMessage, markPending+rescue and the reads); then one finalizer agent per client of each
/// level of `finalizeAttendances` (each with its own stock of attendances in progress, so that
/// no level finalizes another's); then the history agent; then background agents.
#[derive(Debug, Clone)]
pub struct Plan {
    pub accounts: usize,
    pub agents: usize,
    pub attendances: usize,
    pub contacts: usize,
    pub max_clients: usize,
    /// Per level: first agent index and stock per finalizer agent.
    pub finalizers: Vec<(usize, usize, i32)>,
    pub history_agent: usize,
    pub open: usize,
    pub finalized: usize,
}

impl Plan {
    pub fn new(cfg: &Config) -> anyhow::Result<Plan> {
        let accounts = cfg.accounts;
        let max_clients = *cfg.levels.iter().max().unwrap();
        let mut next = max_clients;
        let mut finalizers = Vec::new();
        for &n in &cfg.levels {
            // Stock sized for the fastest plausible rate of this level on a small machine.
            // Attendances per client per second: a call of 50 takes ~20 ms alone, ~0.2 s at 16.
            let per_client_per_s = match n {
                1 => 3000.0,
                2..=4 => 1200.0,
                5..=16 => 400.0,
                _ => 120.0,
            };
            let stock = ((per_client_per_s * cfg.seconds as f64) as i32).max(100);
            finalizers.push((n, next, stock));
            next += n;
        }
        let history_agent = next;
        let agents = cfg.agents.max(next + 1 + accounts);
        let agents = agents.div_ceil(accounts) * accounts;
        let mut open = 0usize;
        let mut per_account = vec![0usize; accounts];
        for i in 0..agents {
            let n = Self::open_of(i, max_clients, &finalizers, history_agent);
            open += n as usize;
            per_account[i % accounts] += n as usize;
        }
        if open > cfg.attendances {
            bail!(
                "{} attendances are too few: the open ones alone are {open}",
                cfg.attendances
            );
        }
        let max_per_account = per_account.iter().max().copied().unwrap_or(0) + 2;
        let contacts = (cfg.attendances / 4).max(accounts * (max_per_account + 1));
        Ok(Plan {
            accounts,
            agents,
            attendances: cfg.attendances,
            contacts,
            max_clients,
            finalizers,
            history_agent,
            open,
            finalized: cfg.attendances - open,
        })
    }

    /// (in progress, pending) of agent `i`.
    fn split_of(
        i: usize,
        max_clients: usize,
        finalizers: &[(usize, usize, i32)],
        history: usize,
    ) -> (i32, i32) {
        if i < max_clients {
            return (ACTIVE_IN_PROGRESS, ACTIVE_PENDING);
        }
        for &(n, first, stock) in finalizers {
            if (first..first + n).contains(&i) {
                return (stock, 0);
            }
        }
        if i == history {
            return (2, 0);
        }
        (BACKGROUND_IN_PROGRESS, BACKGROUND_PENDING)
    }

    fn open_of(
        i: usize,
        max_clients: usize,
        finalizers: &[(usize, usize, i32)],
        history: usize,
    ) -> i32 {
        let (a, b) = Self::split_of(i, max_clients, finalizers, history);
        a + b
    }

    fn split(&self, i: usize) -> (i32, i32) {
        Self::split_of(i, self.max_clients, &self.finalizers, self.history_agent)
    }
}

pub fn email_of(i: usize) -> String {
    format!("agent{i}@bench.test")
}

/// A logged-in agent and the attendances it works on.
#[derive(Debug, Clone)]
pub struct AgentSeat {
    pub id: Uuid,
    pub token: String,
    pub attendances: Vec<Uuid>,
}

#[derive(Debug, Clone)]
pub struct World {
    pub integration_token: String,
    /// Active agents: `send` (first [`SEND_ROTATION`] attendances) and `pair` (the rest).
    pub active: Vec<AgentSeat>,
    /// Per level (client count, seats).
    pub finalizers: Vec<(usize, Vec<AgentSeat>)>,
    pub history: AgentSeat,
    pub history_short: Uuid,
    pub history_long: Uuid,
    /// (account, phone, attendance) of open attendances of background agents.
    pub inbound_targets: Vec<(Uuid, String, Uuid)>,
    pub stats: BTreeMap<String, serde_json::Value>,
}

impl World {
    pub fn send_atts(seat: &AgentSeat) -> Vec<Uuid> {
        seat.attendances[..SEND_ROTATION].to_vec()
    }
    pub fn pair_atts(seat: &AgentSeat) -> Vec<Uuid> {
        seat.attendances[SEND_ROTATION..].to_vec()
    }
}

fn at(ts: &str) -> DateTime<Utc> {
    ts.parse().unwrap()
}

fn uuid(s: &str) -> Uuid {
    s.parse().unwrap()
}

/// The domain's serialization of each seeded event type, with sentinels.
struct Templates {
    agent_registered: String,
    agent_logged_in: String,
    contact_registered: String,
    channel_linked: String,
    opened: String,
    customer_message: String,
    assigned: String,
    agent_message: String,
    marked_pending: String,
    finalized: String,
}

fn templates(password_hash: &str) -> anyhow::Result<Templates> {
    let t = at(S_AT);
    assert_eq!(
        serde_json::to_value(t)?,
        json!(S_AT),
        "timestamp sentinel format"
    );
    let s = |v: &dyn erased::Ser| v.json();
    let agent_registered = s(&AgentEvent::AgentRegistered {
        agent_id: uuid(S_AGT),
        name: S_NAME.into(),
        email: Email::parse(S_EMAIL).map_err(|e| anyhow::anyhow!("{e:?}"))?,
        password_hash: password_hash.into(),
        role: Role::Agent,
        service_ids: vec![uuid(S_SVC)],
        max_concurrent: 5,
        at: t,
    });
    let agent_logged_in = s(&AgentEvent::AgentLoggedIn {
        session_id: uuid(S_MSG),
        at: t,
    });
    let profile = ContactProfile {
        name: S_NAME.into(),
        phone: Some(Phone::parse_e164(S_PHONE).map_err(|e| anyhow::anyhow!("{e:?}"))?),
        active: true,
        ..Default::default()
    };
    let contact_registered = s(&ContactEvent::ContactRegistered {
        contact_id: uuid(S_CON),
        account_id: uuid(S_ACC),
        profile,
        addresses: vec![],
        at: t,
    });
    let channel_linked = s(&ContactEvent::ChannelLinked {
        channel: ChannelType::Whatsapp,
        identifier: S_PHONE.into(),
        account_id: uuid(S_ACC),
        at: t,
    });
    let opened = s(&AttendanceEvent::AttendanceOpened {
        attendance_id: uuid(S_ATT),
        protocol: S_PROTOCOL.into(),
        account_id: uuid(S_ACC),
        contact_id: uuid(S_CON),
        channel: ChannelType::Whatsapp,
        direction: Direction::Inbound,
        destination: Destination::Service(uuid(S_SVC)),
        status: AttendanceStatus::Waiting,
        agent_id: None,
        opened_by: None,
        at: t,
    });
    let customer_message = s(&AttendanceEvent::CustomerMessageReceived {
        message_id: uuid(S_MSG),
        text: Some(CUSTOMER_TEXT.into()),
        attachments: vec![],
        // The gateway's message id, as WhatsApp gives one for every message.
        external_id: Some(format!("{EXTERNAL_ID_PREFIX}{S_MSG}")),
        at: t,
    });
    let assigned = s(&AttendanceEvent::AttendanceAssigned {
        agent_id: uuid(S_AGT),
        at: t,
    });
    let agent_message = s(&AttendanceEvent::AgentMessageSent {
        message_id: uuid(S_MSG),
        agent_id: uuid(S_AGT),
        content: MessageContent::Text {
            text: AGENT_TEXT.into(),
        },
        attachments: vec![],
        at: t,
    });
    let marked_pending = s(&AttendanceEvent::AttendanceMarkedPending {
        agent_id: uuid(S_AGT),
        by_logout: false,
        at: t,
    });
    let finalized = s(&AttendanceEvent::AttendanceFinalized {
        by: uuid(S_AGT),
        agent_id: Some(uuid(S_AGT)),
        reason: None,
        survey_requested: false,
        bulk: false,
        at: t,
    });
    Ok(Templates {
        agent_registered,
        agent_logged_in,
        contact_registered,
        channel_linked,
        opened,
        customer_message,
        assigned,
        agent_message,
        marked_pending,
        finalized,
    })
}

/// Serialization of any event, as postgres-es stores it (`serde_json::to_value`).
mod erased {
    pub trait Ser {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> String {
            serde_json::to_value(self)
                .expect("serializable")
                .to_string()
        }
    }
}

const SQL_HELPERS: &str = r#"
CREATE SCHEMA bench;
CREATE FUNCTION bench.ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;
CREATE FUNCTION bench.meta(t timestamptz, actor text, corr text) RETURNS json LANGUAGE sql IMMUTABLE AS
$$ SELECT json_build_object('at', bench.ts(t), 'actor', actor, 'correlation_id', md5(corr)::uuid::text) $$;
CREATE TABLE bench.accounts (idx int PRIMARY KEY, account_id uuid NOT NULL, service_id uuid NOT NULL);
CREATE TABLE bench.agents (idx int PRIMARY KEY, id uuid NOT NULL, account_idx int NOT NULL, ip int NOT NULL, pend int NOT NULL);
CREATE TABLE bench.contacts (k int PRIMARY KEY, id uuid NOT NULL, account_idx int NOT NULL, phone text NOT NULL, routing_key text NOT NULL, name text NOT NULL);
CREATE TABLE bench.att_plan (n bigint PRIMARY KEY, id uuid NOT NULL, agent_idx int NOT NULL, account_id uuid, service_id uuid,
                             contact_k int NOT NULL, contact_id uuid, agent_id uuid, kind smallint NOT NULL,
                             opened_at timestamptz NOT NULL, extra int NOT NULL DEFAULT 0);
"#;

/// Seeds everything; returns the world the load runs against.
pub async fn seed(
    cfg: &Config,
    plan: &Plan,
    pool: &PgPool,
    api: &Api,
    database_url: &str,
) -> anyhow::Result<World> {
    let mut stats = BTreeMap::new();
    let t0 = Instant::now();
    // ---- through the real use cases: admin, accounts, services, integration token, agent 0.
    let out = Command::new(env!("CARGO_BIN_EXE_agent-panel"))
        .args([
            "create-admin",
            "--email",
            ADMIN_EMAIL,
            "--password",
            PASSWORD,
        ])
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()?;
    if !out.status.success() {
        bail!(
            "create-admin failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let admin = api
        .login(ADMIN_EMAIL, PASSWORD)
        .await
        .context("admin login")?;
    let mut accounts = Vec::new();
    for a in 0..plan.accounts {
        let d = api
            .ok(
                Some(&admin),
                "mutation($n: String!) { createAccount(input: {name: $n}) { id } }",
                json!({"n": format!("Conta {a}")}),
            )
            .await?;
        let account: Uuid = d["createAccount"]["id"].as_str().unwrap().parse()?;
        let d = api
            .ok(
                Some(&admin),
                "mutation($a: UUID!) { createService(input: {accountId: $a, name: \"Atendimento\", default: true, surveyEnabled: false}) { id } }",
                json!({"a": account}),
            )
            .await?;
        let service: Uuid = d["createService"]["id"].as_str().unwrap().parse()?;
        accounts.push((account, service));
    }
    let d = api
        .ok(
            Some(&admin),
            "mutation { createIntegrationToken(name: \"whatsapp-gateway\") }",
            json!({}),
        )
        .await?;
    let integration = d["createIntegrationToken"].as_str().unwrap().to_string();
    let d = api
        .ok(
            Some(&admin),
            "mutation($e: String!, $p: String!, $s: UUID!) { registerAgent(input: {name: \"Agente 0\", email: $e, password: $p, serviceIds: [$s]}) { id } }",
            json!({"e": email_of(0), "p": PASSWORD, "s": accounts[0].1}),
        )
        .await?;
    let agent0: Uuid = d["registerAgent"]["id"].as_str().unwrap().parse()?;
    let password_hash: String = sqlx::query_scalar(
        "SELECT payload->'AgentRegistered'->>'password_hash' FROM events WHERE aggregate_type = 'Agent' AND aggregate_id = $1 AND sequence = 1",
    )
    .bind(agent0.to_string())
    .fetch_one(pool)
    .await?;
    let tpl = templates(&password_hash)?;
    // The routing key rule as SQL computes it, checked against the domain's.
    let sample = Phone::parse_e164("+5511960000007").map_err(|e| anyhow::anyhow!("{e:?}"))?;
    anyhow::ensure!(
        sample.routing_key() == "551160000007",
        "phone routing key rule changed: {}",
        sample.routing_key()
    );

    // ---- the plan.
    let mut conn = pool.acquire().await?;
    sqlx::raw_sql(SQL_HELPERS).execute(&mut *conn).await?;
    for (i, (a, s)) in accounts.iter().enumerate() {
        sqlx::query("INSERT INTO bench.accounts VALUES ($1, $2, $3)")
            .bind(i as i32)
            .bind(a)
            .bind(s)
            .execute(&mut *conn)
            .await?;
    }
    let (mut idx, mut ips, mut pends) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..plan.agents {
        let (ip, pend) = plan.split(i);
        idx.push(i as i32);
        ips.push(ip);
        pends.push(pend);
    }
    sqlx::query(
        "INSERT INTO bench.agents (idx, id, account_idx, ip, pend)
         SELECT i, CASE WHEN i = 0 THEN $4 ELSE md5('ag:' || i)::uuid END, i % $5, ip, pend
           FROM unnest($1::int[], $2::int[], $3::int[]) AS u(i, ip, pend)",
    )
    .bind(&idx)
    .bind(&ips)
    .bind(&pends)
    .bind(agent0)
    .bind(plan.accounts as i32)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO bench.contacts
         SELECT k, md5('ct:' || k)::uuid, k % $2, '+55119' || (60000000 + k), '5511' || (60000000 + k),
                (ARRAY['Maria','José','Ana','João','Francisca','Antônio','Adriana','Carlos','Juliana','Paulo'])[1 + k % 10]
                || ' ' || (ARRAY['Silva','Santos','Oliveira','Souza','Rodrigues','Ferreira','Alves','Pereira','Lima','Gomes'])[1 + (k / 10) % 10]
                || ' ' || k
           FROM generate_series(0, $1 - 1) k",
    )
    .bind(plan.contacts as i32)
    .bind(plan.accounts as i32)
    .execute(&mut *conn)
    .await?;
    // Open attendances: a distinct contact of the agent's account each (one open per contact).
    sqlx::query(
        "INSERT INTO bench.att_plan (n, id, agent_idx, contact_k, kind, opened_at)
         SELECT row_number() OVER (ORDER BY a.idx, j) - 1, md5('at:' || a.idx || ':' || j)::uuid, a.idx,
                (row_number() OVER (PARTITION BY a.account_idx ORDER BY a.idx, j) - 1) * $1 + a.account_idx,
                CASE WHEN j <= a.ip THEN 0 ELSE 1 END,
                now() - interval '7 minutes' * j - interval '1 second' * (a.idx % 60)
           FROM bench.agents a CROSS JOIN LATERAL generate_series(1, a.ip + a.pend) j",
    )
    .bind(plan.accounts as i32)
    .execute(&mut *conn)
    .await?;
    // Finalized history: every contact and every agent of the account gets some.
    sqlx::query(
        "INSERT INTO bench.att_plan (n, id, agent_idx, contact_k, kind, opened_at)
         SELECT $1 + h, md5('ah:' || h)::uuid, ((h % $3) % $4) + $4 * (h % ($5 / $4)), h % $3, 2,
                now() - interval '1 day' * (1 + h % 90) - interval '1 second' * (h % 36000)
           FROM generate_series(0, $2 - 1) h",
    )
    .bind(plan.open as i64)
    .bind(plan.finalized as i64)
    .bind(plan.contacts as i64)
    .bind(plan.accounts as i64)
    .bind(plan.agents as i64)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE bench.att_plan p SET account_id = acc.account_id, service_id = acc.service_id, contact_id = c.id, agent_id = ag.id
           FROM bench.contacts c, bench.accounts acc, bench.agents ag
          WHERE c.k = p.contact_k AND acc.idx = c.account_idx AND ag.idx = p.agent_idx",
    )
    .execute(&mut *conn)
    .await?;
    // The history attendances: 10 and 10,000 earlier messages (2 come with the opening); the
    // agent's two open ones only (finalized history may name any agent).
    sqlx::query(
        "UPDATE bench.att_plan SET extra = CASE WHEN id = md5('at:' || $1 || ':1')::uuid THEN 8 ELSE 9998 END,
                opened_at = now() - interval '1 day'
          WHERE agent_idx = $1 AND kind = 0",
    )
    .bind(plan.history_agent as i32)
    .execute(&mut *conn)
    .await?;
    let planned = t0.elapsed();

    // ---- agents and contacts as events (one transaction).
    let t_insert = Instant::now();
    let mut tx = pool.begin().await?;
    let agents_inserted = sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         SELECT 'Agent', a.id::text, 1, 'AgentRegistered', '1.0',
                replace(replace(replace(replace(replace($1, $2, a.id::text), $3, acc.service_id::text),
                        $4, 'Agente ' || a.idx), $5, 'agent' || a.idx || '@bench.test'), $6, bench.ts(now() - interval '200 days'))::json,
                bench.meta(now() - interval '200 days', 'system', 'ag' || a.idx)
           FROM bench.agents a JOIN bench.accounts acc ON acc.idx = a.account_idx
          WHERE a.idx > 0 ORDER BY a.idx",
    )
    .bind(&tpl.agent_registered)
    .bind(S_AGT)
    .bind(S_SVC)
    .bind(S_NAME)
    .bind(S_EMAIL)
    .bind(S_AT)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query("INSERT INTO agent_emails (email, agent_id) SELECT 'agent' || idx || '@bench.test', id FROM bench.agents WHERE idx > 0")
        .execute(&mut *tx)
        .await?;
    // Every agent is at work (logged in): attendances in progress with an agent who is offline
    // would be parked by the logout reactor, as the routing projection rules.
    let logins_inserted = sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         SELECT 'Agent', a.id::text, 2, 'AgentLoggedIn', '1.0',
                replace(replace($1, $2, md5('se:' || a.idx)::uuid::text), $3, bench.ts(now() - interval '8 hours'))::json,
                bench.meta(now() - interval '8 hours', a.id::text, 'se' || a.idx)
           FROM bench.agents a ORDER BY a.idx",
    )
    .bind(&tpl.agent_logged_in)
    .bind(S_MSG)
    .bind(S_AT)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let contacts_inserted = sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         SELECT 'Contact', c.id::text, s.seq, s.et, '1.0', s.payload::json,
                bench.meta(now() - interval '180 days', 'integration:whatsapp-gateway', 'ct' || c.k)
           FROM bench.contacts c JOIN bench.accounts acc ON acc.idx = c.account_idx
           CROSS JOIN LATERAL (
             SELECT 1 AS seq, 'ContactRegistered' AS et,
                    replace(replace(replace(replace(replace($1, $3, c.id::text), $4, acc.account_id::text), $5, c.name), $6, c.phone),
                            $7, bench.ts(now() - interval '180 days')) AS payload
             UNION ALL
             SELECT 2, 'ChannelLinked',
                    replace(replace(replace($2, $4, acc.account_id::text), $6, c.phone), $7, bench.ts(now() - interval '180 days'))
           ) s",
    )
    .bind(&tpl.contact_registered)
    .bind(&tpl.channel_linked)
    .bind(S_CON)
    .bind(S_ACC)
    .bind(S_NAME)
    .bind(S_PHONE)
    .bind(S_AT)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO contact_phone_keys (account_id, routing_key, contact_id, claimed_at)
         SELECT acc.account_id, c.routing_key, c.id, now() - interval '180 days'
           FROM bench.contacts c JOIN bench.accounts acc ON acc.idx = c.account_idx",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    // ---- attendances as events (one transaction): open ones first, then the finalized history.
    let mut tx = pool.begin().await?;
    let r = |tpl: &str, at: &str| -> String {
        // The SQL expression substituting the sentinels of one template.
        format!(
            "replace(replace(replace(replace(replace(replace(replace(replace('{tpl}', '{S_ATT}', p.id::text), '{S_ACC}', p.account_id::text),
               '{S_CON}', p.contact_id::text), '{S_SVC}', p.service_id::text), '{S_AGT}', p.agent_id::text),
               '{S_MSG}', md5(p.id::text || ':' || s_seq)::uuid::text),
               '{S_PROTOCOL}', to_char(p.opened_at, 'YYYYMMDD') || '-' || lpad((p.n % 1000000)::text, 6, '0')),
               '{S_AT}', bench.ts({at}))",
            tpl = tpl.replace('\'', "''")
        )
    };
    let slots = [
        (
            1,
            "AttendanceOpened",
            &tpl.opened,
            "p.opened_at",
            "'integration:whatsapp-gateway'",
            "true",
        ),
        (
            2,
            "CustomerMessageReceived",
            &tpl.customer_message,
            "p.opened_at",
            "'integration:whatsapp-gateway'",
            "true",
        ),
        (
            3,
            "AttendanceAssigned",
            &tpl.assigned,
            "p.opened_at + interval '20 seconds'",
            "'system'",
            "true",
        ),
        (
            4,
            "AgentMessageSent",
            &tpl.agent_message,
            "p.opened_at + interval '60 seconds'",
            "p.agent_id::text",
            "p.kind <> 2",
        ),
        (
            5,
            "AttendanceMarkedPending",
            &tpl.marked_pending,
            "p.opened_at + interval '120 seconds'",
            "p.agent_id::text",
            "p.kind = 1",
        ),
        // The finalized history is lean (4 events): the quick mode must replay it in minutes.
        (
            4,
            "AttendanceFinalized",
            &tpl.finalized,
            "p.opened_at + interval '600 seconds'",
            "p.agent_id::text",
            "p.kind = 2",
        ),
    ];
    let union: Vec<String> = slots
        .iter()
        .map(|(seq, et, t, at, actor, cond)| {
            format!(
                "SELECT {seq} AS seq, '{et}' AS et, {at} AS at, {actor} AS actor, {} AS payload WHERE {cond}",
                r(t, at).replace("s_seq", &seq.to_string())
            )
        })
        .collect();
    let insert_attendances = format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         SELECT 'Attendance', p.id::text, s.seq, s.et, '1.0', s.payload::json, bench.meta(s.at, s.actor, p.id::text || s.seq)
           FROM bench.att_plan p CROSS JOIN LATERAL ({}) s",
        union.join(" UNION ALL ")
    );
    let attendance_events = sqlx::query(&insert_attendances)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    // The long histories: alternating customer and agent messages after the opening four.
    let extra_sql = format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         SELECT 'Attendance', p.id::text, 4 + j,
                CASE WHEN j % 2 = 1 THEN 'CustomerMessageReceived' ELSE 'AgentMessageSent' END, '1.0',
                (CASE WHEN j % 2 = 1 THEN {cmr} ELSE {ams} END)::json,
                bench.meta(p.opened_at + interval '60 seconds' + interval '1 second' * j,
                           CASE WHEN j % 2 = 1 THEN 'integration:whatsapp-gateway' ELSE p.agent_id::text END, p.id::text || (4 + j))
           FROM bench.att_plan p CROSS JOIN LATERAL generate_series(1, p.extra) j
          WHERE p.extra > 0 ORDER BY p.n, j",
        cmr = r(&tpl.customer_message, "p.opened_at + interval '60 seconds' + interval '1 second' * j").replace("s_seq", "(4 + j)"),
        ams = r(&tpl.agent_message, "p.opened_at + interval '60 seconds' + interval '1 second' * j").replace("s_seq", "(4 + j)"),
    );
    let extra_events = sqlx::query(&extra_sql)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query(
        "INSERT INTO attendance_open_keys (account_id, contact_id, channel, attendance_id, claimed_at)
         SELECT account_id, contact_id, 'WHATSAPP', id, opened_at FROM bench.att_plan WHERE kind IN (0, 1)",
    )
    .execute(&mut *tx)
    .await?;
    // The idempotency claims the gateway's deliveries took: one per customer message above (its
    // message id is the md5 the templates substitute for S_MSG at that sequence).
    sqlx::query(&format!(
        "INSERT INTO inbound_message_ids (account_id, channel, external_id, attendance_id, claimed_at)
         SELECT p.account_id, 'WHATSAPP', '{EXTERNAL_ID_PREFIX}' || md5(p.id::text || ':' || m.seq)::uuid::text,
                p.id, p.opened_at
           FROM bench.att_plan p
           CROSS JOIN LATERAL (SELECT 2 AS seq
                               UNION ALL
                               SELECT 4 + j FROM generate_series(1, p.extra) j WHERE j % 2 = 1) m"
    ))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let inserted = t_insert.elapsed();
    let total_events =
        agents_inserted + logins_inserted + contacts_inserted + attendance_events + extra_events;
    eprintln!(
        "  inserted {total_events} events ({} agents, {} contacts, {} attendances) in {:.1} s; waiting for the projections…",
        plan.agents, plan.contacts, plan.attendances, inserted.as_secs_f64()
    );

    // ---- let the server's projections build the read models.
    let t_catch = Instant::now();
    wait_for_projections(pool, Duration::from_secs(cfg.catch_up_timeout)).await?;
    let catch_up = t_catch.elapsed();
    // A database in service: autovacuum would have vacuumed and analysed the bulk-inserted tables
    // by now (on a machine where it is off, nothing would). The measured statements are planned
    // on real statistics, and autovacuum does not start on them during the first levels.
    let t_vacuum = Instant::now();
    sqlx::query("VACUUM (ANALYZE)").execute(pool).await?;
    stats.insert(
        "vacuum_seconds".into(),
        json!(t_vacuum.elapsed().as_secs_f64()),
    );
    let read_models: i64 = sqlx::query_scalar("SELECT count(*) FROM attendances")
        .fetch_one(pool)
        .await?;
    anyhow::ensure!(
        read_models as usize >= plan.attendances,
        "the attendances read model has {read_models} rows, expected {}",
        plan.attendances
    );
    let events_in_log: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    eprintln!(
        "  projections caught up in {:.1} s ({:.0} events/s)",
        catch_up.as_secs_f64(),
        total_events as f64 / catch_up.as_secs_f64()
    );
    stats.insert("accounts".into(), json!(plan.accounts));
    stats.insert("agents".into(), json!(plan.agents));
    stats.insert("contacts".into(), json!(plan.contacts));
    stats.insert("attendances".into(), json!(plan.attendances));
    stats.insert("open_attendances".into(), json!(plan.open));
    stats.insert("events_in_log".into(), json!(events_in_log));
    stats.insert("events_bulk_inserted".into(), json!(total_events));
    stats.insert("plan_seconds".into(), json!(planned.as_secs_f64()));
    stats.insert("bulk_insert_seconds".into(), json!(inserted.as_secs_f64()));
    stats.insert(
        "bulk_insert_events_per_s".into(),
        json!(total_events as f64 / inserted.as_secs_f64()),
    );
    stats.insert(
        "projection_catch_up_seconds".into(),
        json!(catch_up.as_secs_f64()),
    );
    stats.insert(
        "projection_catch_up_events_per_s".into(),
        json!(total_events as f64 / catch_up.as_secs_f64()),
    );

    // ---- seats: log in the agents that drive the load (argon2: a few at a time).
    let t_login = Instant::now();
    let seat_rows = sqlx::query(
        "SELECT a.idx, a.id, acc.service_id,
                COALESCE(array_agg(p.id ORDER BY p.n) FILTER (WHERE p.kind = 0), '{}') AS atts
           FROM bench.agents a JOIN bench.accounts acc ON acc.idx = a.account_idx
           LEFT JOIN bench.att_plan p ON p.agent_idx = a.idx AND p.kind = 0
          WHERE a.idx <= $1 GROUP BY a.idx, a.id, acc.service_id ORDER BY a.idx",
    )
    .bind(plan.history_agent as i32)
    .fetch_all(pool)
    .await?;
    let mut logins = Vec::new();
    for row in &seat_rows {
        let i: i32 = row.try_get("idx")?;
        let api = api.clone();
        logins.push(async move { (i, api.login(&email_of(i as usize), PASSWORD).await) });
    }
    let mut tokens = std::collections::HashMap::new();
    let mut stream = futures::stream::iter(logins).buffer_unordered(2);
    while let Some((i, token)) = stream.next().await {
        tokens.insert(i, token.with_context(|| format!("login of agent {i}"))?);
    }
    let mut seats = Vec::new();
    for row in &seat_rows {
        let i: i32 = row.try_get("idx")?;
        seats.push(AgentSeat {
            id: row.try_get("id")?,
            token: tokens.remove(&i).unwrap(),
            attendances: row.try_get("atts")?,
        });
    }
    let active = seats[..plan.max_clients].to_vec();
    let finalizers = plan
        .finalizers
        .iter()
        .map(|&(n, first, _)| (n, seats[first..first + n].to_vec()))
        .collect();
    let history = seats[plan.history_agent].clone();
    let (history_short, history_long) = (history.attendances[0], history.attendances[1]);
    let targets = sqlx::query(
        "SELECT p.account_id, c.phone, p.id FROM bench.att_plan p JOIN bench.contacts c ON c.k = p.contact_k
          WHERE p.agent_idx > $1 AND p.kind IN (0, 1) ORDER BY p.n",
    )
    .bind(plan.history_agent as i32)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect();
    stats.insert(
        "login_seconds".into(),
        json!(t_login.elapsed().as_secs_f64()),
    );
    stats.insert("logged_in_agents".into(), json!(seat_rows.len()));
    Ok(World {
        integration_token: integration,
        active,
        finalizers,
        history,
        history_short,
        history_long,
        inbound_targets: targets,
        stats,
    })
}

/// Waits until every projection has applied the last event of the aggregate types it reads.
pub async fn wait_for_projections(pool: &PgPool, timeout: Duration) -> anyhow::Result<()> {
    let mut targets = Vec::new();
    for p in agent_panel::wiring::projections() {
        let types: Vec<String> = p.aggregate_types().iter().map(|s| s.to_string()).collect();
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT tx_id::text::bigint, position FROM events WHERE aggregate_type = ANY($1)
              ORDER BY tx_id DESC, position DESC LIMIT 1",
        )
        .bind(&types)
        .fetch_optional(pool)
        .await?;
        if let Some(t) = row {
            targets.push((p.name().to_string(), t));
        }
    }
    let started = Instant::now();
    let mut last_report = Instant::now();
    loop {
        let mut behind = Vec::new();
        for (name, target) in &targets {
            let row: Option<(i64, i64, Option<String>)> = sqlx::query_as(
                "SELECT tx_id::text::bigint, position, last_error FROM projection_checkpoints WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(pool)
            .await?;
            match row {
                Some((tx, pos, err)) => {
                    if let Some(e) = err {
                        bail!("projection {name} is failing: {e}");
                    }
                    if (tx, pos) < *target {
                        behind.push(format!("{name} at {pos}/{}", target.1));
                    }
                }
                None => behind.push(format!("{name} not started")),
            }
        }
        if behind.is_empty() {
            return Ok(());
        }
        if started.elapsed() > timeout {
            bail!(
                "projections did not catch up within {timeout:?}: {}",
                behind.join(", ")
            );
        }
        if last_report.elapsed() > Duration::from_secs(15) {
            eprintln!("    … {}", behind.join(", "));
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
