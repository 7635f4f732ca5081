//! Websocket load benchmark of the agent-panel server: `cargo bench --bench ws -- [--quick]`.
//!
//! On a fresh database it starts the release server binary and seeds a world with the load
//! benchmark's code (`benches/load/{db,api,seed}.rs`, shared by `#[path]`): agents, contacts and
//! attendances as events, a few agents logged in through the API. Then, for each subscriber
//! count N (100, 1,000, 10,000), on a freshly started server:
//!
//! 1. reads the server's VmRSS (`/proc/<pid>/status`) before any socket;
//! 2. opens N websockets (graphql-transport-ws, [`client`]); each authenticates as the agent
//!    owning one of N / fanout target attendances and subscribes to `messageAdded` of it (plus,
//!    with `--also`, the agent's `pendingAttendancesChanged`, `countersChanged` or
//!    `attendanceUpdated` on the same socket), so each change reaches `fanout` subscribers;
//! 3. reads VmRSS with the N sockets idle: (idle − before) / N is the memory per connection;
//! 4. drives a stream of changes ([`driver`]) — a customer message on one of the target
//!    attendances — at a fixed rate (200/s) for a fixed time, sampling VmRSS and the server's
//!    CPU time, and measures for each delivery the time from the change's send (SQL: the start
//!    of the INSERT of its event; API: the request of `receiveInboundMessage`) and from its
//!    commit (SQL: the INSERT returned; API: the response) to the subscriber's receipt;
//!    deliveries missing 10 s after the last change count as missed.
//!
//! Output: a table on stdout and `target/bench/ws-summary.json`. See docs/benchmarks.md.
//!
//! Options (after `--`): `--quick`, `--subscribers 100,1000,10000`, `--rate 200`,
//! `--seconds N` (load per level), `--fanout 10`, `--driver sql|api`, `--also
//! pending,counters,updated`, `--seats N` (logged-in agents owning the sockets), `--attendances
//! N`, `--agents N` (the seeded world), `--keep-db`.

#[allow(dead_code)]
#[path = "../load/api.rs"]
mod api;
mod client;
#[allow(dead_code)]
#[path = "../load/db.rs"]
mod db;
mod driver;
#[allow(dead_code)]
#[path = "../load/seed.rs"]
mod seed;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::Row;
use uuid::Uuid;

use crate::api::Api;
use crate::client::{Extra, Fleet};
use crate::db::{DbServer, Server};
use crate::driver::{Driver, Target};

/// The settings [`seed`] reads (the load benchmark's names), and this benchmark's own.
#[derive(Debug, Clone)]
pub struct Config {
    pub quick: bool,
    /// Seed: seconds per level (sizes the finalizers' stock; kept small here).
    pub seconds: u64,
    /// Seed: one level whose client count is the number of logged-in "active" agents (seats).
    pub levels: Vec<usize>,
    pub accounts: usize,
    pub agents: usize,
    pub attendances: usize,
    pub catch_up_timeout: u64,
    pub subscribers: Vec<usize>,
    pub rate: f64,
    pub load_seconds: u64,
    pub fanout: usize,
    pub driver: Driver,
    pub also: Vec<Extra>,
    pub keep_db: bool,
}

impl Config {
    fn from_args() -> anyhow::Result<Config> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let quick = args.iter().any(|a| a == "--quick");
        let mut cfg = Config {
            quick,
            seconds: 1,
            levels: vec![40],
            accounts: 2,
            agents: 100,
            attendances: 10_000,
            catch_up_timeout: 900,
            subscribers: vec![100, 1_000, 10_000],
            rate: 200.0,
            load_seconds: if quick { 10 } else { 60 },
            fanout: 10,
            driver: Driver::Sql,
            also: vec![],
            keep_db: false,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .with_context(|| format!("{a} needs a value"))
            };
            match a.as_str() {
                "--quick" | "--bench" => {}
                "--keep-db" => cfg.keep_db = true,
                "--seconds" => cfg.load_seconds = value()?.parse()?,
                "--rate" => cfg.rate = value()?.parse()?,
                "--fanout" => cfg.fanout = value()?.parse()?,
                "--seats" => cfg.levels = vec![value()?.parse()?],
                "--attendances" => cfg.attendances = value()?.parse()?,
                "--agents" => cfg.agents = value()?.parse()?,
                "--subscribers" => {
                    cfg.subscribers = value()?
                        .split(',')
                        .map(|s| s.trim().replace('_', "").parse())
                        .collect::<Result<_, _>>()?;
                }
                "--driver" => {
                    cfg.driver = match value()?.as_str() {
                        "sql" => Driver::Sql,
                        "api" => Driver::Api,
                        other => anyhow::bail!("unknown driver {other} (sql or api)"),
                    }
                }
                "--also" => {
                    cfg.also = value()?
                        .split(',')
                        .filter(|s| !s.trim().is_empty())
                        .map(|s| match s.trim() {
                            "pending" => Ok(Extra::Pending),
                            "counters" => Ok(Extra::Counters),
                            "updated" => Ok(Extra::Updated),
                            other => Err(anyhow::anyhow!("unknown subscription {other}")),
                        })
                        .collect::<Result<_, _>>()?;
                }
                other if other.starts_with("--") => anyhow::bail!("unknown option {other}"),
                _ => {} // cargo's filter argument, if any
            }
        }
        anyhow::ensure!(cfg.fanout >= 1, "--fanout must be at least 1");
        anyhow::ensure!(cfg.rate > 0.0, "--rate must be positive");
        anyhow::ensure!(!cfg.subscribers.is_empty(), "--subscribers needs a count");
        Ok(cfg)
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Raises this process's soft limit of open files to the hard one; the server, started later
/// as a child, inherits it.
fn raise_nofile() -> (u64, u64) {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut lim = getrlimit(Resource::Nofile);
    if lim.maximum.is_some() && lim.current != lim.maximum {
        lim.current = lim.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, lim) {
            eprintln!("cannot raise RLIMIT_NOFILE: {e}");
        }
    }
    let now = getrlimit(Resource::Nofile);
    (
        now.current.unwrap_or(u64::MAX),
        now.maximum.unwrap_or(u64::MAX),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let cfg = Config::from_args()?;
    let (soft, hard) = raise_nofile();
    let top = *cfg.subscribers.iter().max().unwrap() as u64;
    if soft < top + 1024 {
        eprintln!(
            "warning: RLIMIT_NOFILE is {soft} (hard {hard}); {top} sockets need more (raise the hard limit)"
        );
    }
    let out_dir = target_dir().join("bench");
    std::fs::create_dir_all(&out_dir)?;
    let plan = seed::Plan::new(&cfg)?;
    eprintln!(
        "agent-panel websocket benchmark ({}): subscribers {:?}, {} changes/s for {} s, fan-out {}, driver {:?}, also {:?}; open files {soft}/{hard}",
        if cfg.quick { "quick" } else { "full" },
        cfg.subscribers,
        cfg.rate,
        cfg.load_seconds,
        cfg.fanout,
        cfg.driver,
        cfg.also,
    );
    let dbs = DbServer::choose(&target_dir()).await?;
    let db_name = format!(
        "agent_panel_wsbench_{}",
        chrono::Utc::now().format("%Y%m%d%H%M%S")
    );
    let url = dbs.create_database(&db_name).await?;
    eprintln!("database {db_name} on {}", dbs.source);
    let result = run(&cfg, &plan, &url, &out_dir, &dbs.source, started).await;
    if !cfg.keep_db {
        if let Err(e) = dbs.drop_database(&db_name).await {
            eprintln!("could not drop {db_name}: {e:#}");
        }
    } else {
        eprintln!("kept database {db_name}");
    }
    dbs.stop().await;
    result
}

/// One measured level.
struct Level {
    subscribers: usize,
    targets: usize,
    connected: usize,
    connect_failures: usize,
    first_connect_error: Option<String>,
    connect_seconds: f64,
    rss_before_kib: Option<u64>,
    rss_idle_kib: Option<u64>,
    rss_load_max_kib: Option<u64>,
    rss_after_kib: Option<u64>,
    load: driver::Outcome,
    deliveries: client::Deliveries,
    cpu_load_percent: Option<f64>,
}

impl Level {
    fn per_connection_kib(&self) -> Option<f64> {
        match (self.rss_before_kib, self.rss_idle_kib) {
            (Some(b), Some(i)) if self.connected > 0 => {
                Some((i as f64 - b as f64) / self.connected as f64)
            }
            _ => None,
        }
    }
}

async fn run(
    cfg: &Config,
    plan: &seed::Plan,
    url: &str,
    out_dir: &std::path::Path,
    db_source: &str,
    started: Instant,
) -> anyhow::Result<()> {
    let log = out_dir.join("ws-server.log");
    let server = Server::start(url, &log).await?;
    let pool = PgPoolOptions::new()
        .max_connections(12)
        .connect(url)
        .await?;
    let api = Api::new(&server.base);
    eprintln!(
        "seeding: {} agents, {} attendances…",
        plan.agents, plan.attendances
    );
    let world = seed::seed(cfg, plan, &pool, &api, url).await?;
    server.stop();
    // Fresh statistics after the bulk insert (autovacuum would get there later): without them
    // the log readers' query may plan a scan of every event of a type.
    sqlx::query("ANALYZE").execute(&pool).await?;

    // Target attendances: the seats' attendances in progress, in round-robin over the seats.
    let mut owned: Vec<(usize, Uuid)> = Vec::new();
    let per_seat = world
        .active
        .iter()
        .map(|s| s.attendances.len())
        .max()
        .unwrap_or(0);
    for j in 0..per_seat {
        for (i, seat) in world.active.iter().enumerate() {
            if let Some(a) = seat.attendances.get(j) {
                owned.push((i, *a));
            }
        }
    }
    let ids: Vec<Uuid> = owned.iter().map(|o| o.1).collect();
    let facts: HashMap<Uuid, (Uuid, String, i64)> = sqlx::query(
        "SELECT p.id, p.account_id, c.phone,
                (SELECT max(sequence) FROM events e WHERE e.aggregate_type = 'Attendance' AND e.aggregate_id = p.id::text) AS seq
           FROM bench.att_plan p JOIN bench.contacts c ON c.k = p.contact_k WHERE p.id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&pool)
    .await?
    .into_iter()
    .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
    .collect();
    let all_targets: Vec<Target> = owned
        .iter()
        .map(|&(seat, id)| {
            let (account, phone, seq) = facts[&id].clone();
            Target {
                attendance: id,
                seat,
                account,
                phone,
                sequence: seq,
            }
        })
        .collect();
    let tokens: Vec<String> = world.active.iter().map(|s| s.token.clone()).collect();
    let machine_cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);

    let mut levels = Vec::new();
    let mut sequences: HashMap<Uuid, i64> = all_targets
        .iter()
        .map(|t| (t.attendance, t.sequence))
        .collect();
    for &n in &cfg.subscribers {
        let t_count = (n / cfg.fanout).clamp(1, all_targets.len());
        if n / cfg.fanout > all_targets.len() {
            eprintln!(
                "note: {n} subscribers / fan-out {} needs {} attendances, the world has {}: fan-out is {}",
                cfg.fanout,
                n / cfg.fanout,
                all_targets.len(),
                n.div_ceil(t_count)
            );
        }
        let targets: Vec<Target> = all_targets[..t_count]
            .iter()
            .map(|t| Target {
                sequence: sequences[&t.attendance],
                ..t.clone()
            })
            .collect();
        let level = run_level(cfg, url, &log, &pool, n, &targets, &tokens, &world).await?;
        for t in &targets {
            if let Some(s) = level.load.sequences.get(&t.attendance) {
                sequences.insert(t.attendance, *s);
            }
        }
        print_level(&level);
        levels.push(level);
    }

    let summary = report(cfg, &world, &levels, db_source, started, machine_cpus);
    let path = out_dir.join("ws-summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)?)?;
    println!("\nsummary written to {}", path.display());
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn run_level(
    cfg: &Config,
    url: &str,
    log: &std::path::Path,
    pool: &sqlx::PgPool,
    n: usize,
    targets: &[Target],
    tokens: &[String],
    world: &seed::World,
) -> anyhow::Result<Level> {
    eprintln!(
        "\n== {n} subscribers on {} attendances (fan-out {}) ==",
        targets.len(),
        n.div_ceil(targets.len())
    );
    // A fresh server per level: its memory figures start from the same state.
    let server = Server::start(url, log).await?;
    let pid = server.pid();
    let address: std::net::SocketAddr = server.base.trim_start_matches("http://").parse()?;
    // Warm up: one query through the API and a settle.
    let _ = Api::new(&server.base)
        .ok(
            Some(&tokens[0]),
            "{ counters { day } }",
            serde_json::json!({}),
        )
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_before = db::rss_kib(pid);

    let t_connect = Instant::now();
    let fleet = Fleet::connect(address, n, targets, tokens, &cfg.also).await;
    let connect_seconds = t_connect.elapsed().as_secs_f64();
    eprintln!(
        "  connected {} of {n} in {connect_seconds:.1} s ({} failed{})",
        fleet.connected(),
        fleet.failures,
        fleet
            .first_error
            .as_ref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default()
    );
    // Idle: let the subscriptions settle and the allocator's caches fill.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_idle = db::rss_kib(pid);
    eprintln!(
        "  server RSS {:.1} MiB before, {:.1} MiB with {} idle sockets → {:.1} KiB per connection",
        rss_before.unwrap_or(0) as f64 / 1024.0,
        rss_idle.unwrap_or(0) as f64 / 1024.0,
        fleet.connected(),
        (rss_idle.unwrap_or(0) as f64 - rss_before.unwrap_or(0) as f64)
            / fleet.connected().max(1) as f64
    );

    // Load.
    let sampler_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = tokio::spawn({
        let stop = sampler_stop.clone();
        async move {
            let mut max = 0u64;
            let cpu0 = cpu_ticks(pid);
            let t0 = Instant::now();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(r) = db::rss_kib(pid) {
                    max = max.max(r);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            let cpu = match (cpu0, cpu_ticks(pid)) {
                (Some(a), Some(b)) => {
                    Some((b - a) as f64 / ticks_per_second() / t0.elapsed().as_secs_f64() * 100.0)
                }
                _ => None,
            };
            (max, cpu)
        }
    });
    let load = driver::run(
        cfg.driver,
        pool,
        &server.base,
        &world.integration_token,
        targets,
        cfg.rate,
        Duration::from_secs(cfg.load_seconds),
        fleet.clock(),
    )
    .await;
    sampler_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (rss_load_max, cpu) = sampler.await.unwrap_or((0, None));
    eprintln!(
        "  {} changes in {:.1} s ({:.1}/s, {} failed{}); waiting for the last deliveries…",
        load.sent(),
        load.seconds,
        load.sent() as f64 / load.seconds,
        load.errors,
        load.first_error
            .as_ref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default()
    );
    let deliveries = fleet.finish(&load, Duration::from_secs(10)).await;
    let rss_after = db::rss_kib(pid);
    server.stop();
    Ok(Level {
        subscribers: n,
        targets: targets.len(),
        connected: deliveries.connected,
        connect_failures: deliveries.connect_failures,
        first_connect_error: deliveries.first_connect_error.clone(),
        connect_seconds,
        rss_before_kib: rss_before,
        rss_idle_kib: rss_idle,
        rss_load_max_kib: Some(rss_load_max).filter(|r| *r > 0),
        rss_after_kib: rss_after,
        load,
        deliveries,
        cpu_load_percent: cpu,
    })
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3; utime and stime are fields 14 and 15.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn ticks_per_second() -> f64 {
    100.0 // USER_HZ on Linux
}

fn mib(k: Option<u64>) -> String {
    k.map(|k| format!("{:.1}", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}

fn print_level(l: &Level) {
    let d = &l.deliveries;
    eprintln!(
        "  deliveries {} of {} expected, {} missed, {} duplicates; latency from send p50 {:.1} / p95 {:.1} / p99 {:.1} / max {:.1} ms; server CPU {:.0} %; RSS max under load {} MiB",
        d.received,
        d.expected,
        d.missed,
        d.duplicates,
        d.from_send.pct(50.0),
        d.from_send.pct(95.0),
        d.from_send.pct(99.0),
        d.from_send.pct(100.0),
        l.cpu_load_percent.unwrap_or(f64::NAN),
        mib(l.rss_load_max_kib),
    );
}

fn ms(v: f64) -> Value {
    if v.is_finite() {
        json!((v * 100.0).round() / 100.0)
    } else {
        Value::Null
    }
}

fn report(
    cfg: &Config,
    world: &seed::World,
    levels: &[Level],
    db_source: &str,
    started: Instant,
    cpus: usize,
) -> Value {
    println!();
    println!(
        "{:>11} {:>8} {:>10} {:>9} {:>9} {:>9} | {:>9} {:>8} {:>8} {:>8} {:>8} | {:>9} {:>7} {:>7} | {:>9} {:>6}",
        "subscribers",
        "fan-out",
        "connect s",
        "RSS0 MiB",
        "idle MiB",
        "KiB/conn",
        "changes/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "delivered",
        "missed",
        "errors",
        "load MiB",
        "CPU %"
    );
    println!("{}", "-".repeat(160));
    let mut rows = Vec::new();
    for l in levels {
        let d = &l.deliveries;
        println!(
            "{:>11} {:>8} {:>10.1} {:>9} {:>9} {:>9.1} | {:>9.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} | {:>9} {:>7} {:>7} | {:>9} {:>6.0}",
            format!("{}/{}", l.connected, l.subscribers),
            l.subscribers.div_ceil(l.targets),
            l.connect_seconds,
            mib(l.rss_before_kib),
            mib(l.rss_idle_kib),
            l.per_connection_kib().unwrap_or(f64::NAN),
            l.load.sent() as f64 / l.load.seconds,
            d.from_send.pct(50.0),
            d.from_send.pct(95.0),
            d.from_send.pct(99.0),
            d.from_send.pct(100.0),
            d.received,
            d.missed,
            l.load.errors + d.subscription_errors,
            mib(l.rss_load_max_kib),
            l.cpu_load_percent.unwrap_or(f64::NAN),
        );
        rows.push(json!({
            "subscribers": l.subscribers,
            "connected": l.connected,
            "connect_failures": l.connect_failures,
            "first_connect_error": l.first_connect_error,
            "target_attendances": l.targets,
            "fanout": l.subscribers.div_ceil(l.targets),
            "connect_seconds": ms(l.connect_seconds),
            "rss_kib": {"before": l.rss_before_kib, "idle": l.rss_idle_kib, "load_max": l.rss_load_max_kib, "after": l.rss_after_kib},
            "idle_kib_per_connection": l.per_connection_kib().map(|v| (v * 10.0).round() / 10.0),
            "changes": {"sent": l.load.sent(), "failed": l.load.errors, "first_error": l.load.first_error,
                        "seconds": ms(l.load.seconds), "per_s": ms(l.load.sent() as f64 / l.load.seconds),
                        "send_to_commit_ms": {"p50": ms(l.load.commit.pct(50.0)), "p99": ms(l.load.commit.pct(99.0))}},
            "deliveries": {"expected": d.expected, "received": d.received, "missed": d.missed, "duplicates": d.duplicates,
                           "other_messages": d.other_messages, "subscription_errors": d.subscription_errors,
                           "first_subscription_error": d.first_subscription_error, "sockets_closed_early": d.closed_early},
            "latency_from_send_ms": {"p50": ms(d.from_send.pct(50.0)), "p95": ms(d.from_send.pct(95.0)),
                                     "p99": ms(d.from_send.pct(99.0)), "max": ms(d.from_send.pct(100.0))},
            "latency_from_commit_ms": {"p50": ms(d.from_commit.pct(50.0)), "p95": ms(d.from_commit.pct(95.0)),
                                       "p99": ms(d.from_commit.pct(99.0)), "max": ms(d.from_commit.pct(100.0))},
            "server_cpu_percent_under_load": l.cpu_load_percent.map(|c| c.round()),
        }));
    }
    println!("total time: {:.0} s", started.elapsed().as_secs_f64());
    json!({
        "mode": if cfg.quick { "quick" } else { "full" },
        "date": chrono::Utc::now().to_rfc3339(),
        "machine": {"cpus": cpus, "os": std::env::consts::OS},
        "database": db_source,
        "driver": format!("{:?}", cfg.driver).to_lowercase(),
        "rate_per_s": cfg.rate,
        "load_seconds": cfg.load_seconds,
        "subscriptions_per_socket": std::iter::once("messageAdded".to_string())
            .chain(cfg.also.iter().map(|e| e.field().to_string())).collect::<Vec<_>>(),
        "world": world.stats,
        "levels": rows,
        "total_seconds": started.elapsed().as_secs_f64(),
        "notes": {
            "latency": "time from the change's send (sql driver: start of the INSERT of its event; api: the receiveInboundMessage request) to the subscriber's receipt of messageAdded; from_commit: from the INSERT's return (api: the response)",
            "memory": "VmRSS of the server process; per connection = (idle with N sockets − before any socket) / N; a fresh server per level",
            "missed": "expected deliveries (every socket subscribed to the changed attendance) not received 10 s after the last change",
        },
    })
}
