//! Load benchmark of the agent-panel server: `cargo bench --bench load -- [--quick]`.
//!
//! On a fresh database (see [`db`]) it starts the release server binary, seeds a realistic world
//! ([`seed`]: accounts, services, agents, contacts, attendances — bulk-inserted as events and
//! projected by the server itself, whose catch-up time is reported), then drives the public
//! GraphQL API over HTTP with 1, 4, 16 and 64 concurrent clients (quick: 1 and 16) for a fixed
//! time each, per operation ([`ops`]), and the raw-SQL baseline of the same writes at the same
//! client counts. It reports throughput, p50/p95/p99 and the ratio to the baseline, the server's
//! resident memory, a memory soak (full mode), and the "history independence" of a command:
//! `sendMessage` on an attendance with 10,000 earlier messages against one with 10.
//!
//! Output: a table on stdout and `target/bench/summary.json`. See docs/benchmarks.md.
//!
//! Options (after `--`): `--quick`, `--seconds N` (per level), `--clients 1,4,16`,
//! `--raw-seconds N`, `--attendances N`, `--agents N`, `--soak-seconds N` (env `BENCH_SOAK_SECONDS`),
//! `--soak-warmup-seconds N` (env `BENCH_SOAK_WARMUP_SECONDS`; the same load before the soak's
//! window, while the aggregate cache fills up and the process reaches its steady state; 600 s in
//! full mode),
//! `--ops inbound,send,pair,finalize,pending,counters`, `--keep-db`.

mod api;
mod db;
mod ops;
mod seed;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;

use crate::api::Api;
use crate::db::{DbServer, Server};
use crate::ops::{Client, Op, Outcome, Raw, Work};

/// The run's settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub quick: bool,
    pub seconds: u64,
    /// Per level of the raw baseline (shorter in quick mode: it is steady within a second).
    pub raw_seconds: u64,
    pub levels: Vec<usize>,
    pub accounts: usize,
    pub agents: usize,
    pub attendances: usize,
    pub soak_seconds: u64,
    /// The mixed load run before the soak's measured window, without a pause in between.
    pub soak_warmup_seconds: u64,
    pub ops: Vec<Op>,
    pub keep_db: bool,
    pub catch_up_timeout: u64,
    pub history_samples: usize,
}

impl Config {
    fn from_args() -> anyhow::Result<Config> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let quick = args.iter().any(|a| a == "--quick");
        let mut cfg = if quick {
            Config {
                quick,
                seconds: 3,
                raw_seconds: 2,
                levels: vec![1, 16],
                accounts: 2,
                agents: 100,
                attendances: 60_000,
                soak_seconds: 0,
                soak_warmup_seconds: 0,
                ops: Op::ALL.to_vec(),
                keep_db: false,
                catch_up_timeout: 600,
                history_samples: 10,
            }
        } else {
            Config {
                quick,
                seconds: 10,
                raw_seconds: 10,
                levels: vec![1, 4, 16, 64],
                accounts: 10,
                agents: 1000,
                attendances: 1_000_000,
                soak_seconds: 600,
                soak_warmup_seconds: 600,
                ops: Op::ALL.to_vec(),
                keep_db: false,
                catch_up_timeout: 4 * 3600,
                history_samples: 40,
            }
        };
        if let Ok(s) = std::env::var("BENCH_SOAK_SECONDS") {
            cfg.soak_seconds = s.parse().context("BENCH_SOAK_SECONDS")?;
        }
        if let Ok(s) = std::env::var("BENCH_SOAK_WARMUP_SECONDS") {
            cfg.soak_warmup_seconds = s.parse().context("BENCH_SOAK_WARMUP_SECONDS")?;
        }
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
                "--seconds" => {
                    cfg.seconds = value()?.parse()?;
                    cfg.raw_seconds = cfg.raw_seconds.min(cfg.seconds);
                }
                "--raw-seconds" => cfg.raw_seconds = value()?.parse()?,
                "--soak-seconds" => cfg.soak_seconds = value()?.parse()?,
                "--soak-warmup-seconds" => cfg.soak_warmup_seconds = value()?.parse()?,
                "--attendances" => cfg.attendances = value()?.parse()?,
                "--agents" => cfg.agents = value()?.parse()?,
                "--accounts" => cfg.accounts = value()?.parse()?,
                "--clients" => {
                    cfg.levels = value()?
                        .split(',')
                        .map(|s| s.trim().parse())
                        .collect::<Result<_, _>>()?;
                }
                "--ops" => {
                    cfg.ops = value()?
                        .split(',')
                        .map(|s| match s.trim() {
                            "inbound" => Ok(Op::Inbound),
                            "send" => Ok(Op::Send),
                            "pair" => Ok(Op::PendingRescue),
                            "finalize" => Ok(Op::Finalize50),
                            "pending" => Ok(Op::PendingList),
                            "counters" => Ok(Op::Counters),
                            other => Err(anyhow::anyhow!("unknown op {other}")),
                        })
                        .collect::<Result<_, _>>()?;
                }
                other if other.starts_with("--") => anyhow::bail!("unknown option {other}"),
                _ => {} // cargo's filter argument, if any
            }
        }
        anyhow::ensure!(!cfg.levels.is_empty(), "--clients needs at least one count");
        Ok(cfg)
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// One row of the report.
struct Row {
    op: Op,
    clients: usize,
    server: Option<Outcome>,
    raw: Option<Outcome>,
    note: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let cfg = Config::from_args()?;
    let out_dir = target_dir().join("bench");
    std::fs::create_dir_all(&out_dir)?;
    let plan = seed::Plan::new(&cfg)?;
    eprintln!(
        "agent-panel load benchmark ({}): {} s per level, clients {:?}",
        if cfg.quick { "quick" } else { "full" },
        cfg.seconds,
        cfg.levels
    );

    let dbs = DbServer::choose(&target_dir()).await?;
    let db_name = format!(
        "agent_panel_bench_{}",
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

async fn run(
    cfg: &Config,
    plan: &seed::Plan,
    url: &str,
    out_dir: &std::path::Path,
    db_source: &str,
    started: Instant,
) -> anyhow::Result<()> {
    let server = Server::start(url, &out_dir.join("server.log")).await?;
    let result = measure(cfg, plan, url, &server, db_source, out_dir, started).await;
    server.stop();
    result
}

async fn measure(
    cfg: &Config,
    plan: &seed::Plan,
    url: &str,
    server: &Server,
    db_source: &str,
    out_dir: &std::path::Path,
    started: Instant,
) -> anyhow::Result<()> {
    let pool = PgPoolOptions::new().max_connections(4).connect(url).await?;
    let api = Api::new(&server.base);
    let idle_rss = server.rss_kib();
    eprintln!(
        "seeding: {} agents, {} attendances…",
        plan.agents, plan.attendances
    );
    let world = seed::seed(cfg, plan, &pool, &api, url).await?;
    let available = api.operations().await?;
    let t_raw = Instant::now();
    sqlx::raw_sql(ops::RAW_SCHEMA)
        .execute(&pool)
        .await
        .context("creating the raw baseline tables")?;
    sqlx::raw_sql(ops::RAW_VACUUM)
        .execute(&pool)
        .await
        .context("vacuuming the raw baseline tables")?;
    eprintln!(
        "  raw baseline tables copied and vacuumed in {:.1} s",
        t_raw.elapsed().as_secs_f64()
    );
    // The seeding, the copies and the vacuums leave gigabytes of dirty pages: written back during
    // the first levels, they would slow whichever side runs then. A checkpoint writes them now.
    let t_checkpoint = Instant::now();
    match sqlx::query("CHECKPOINT").execute(&pool).await {
        Ok(_) => eprintln!(
            "  checkpoint in {:.1} s",
            t_checkpoint.elapsed().as_secs_f64()
        ),
        Err(e) => eprintln!("  no checkpoint ({e}): the first levels may share the disk with it"),
    }
    let seeded_rss = server.rss_kib();

    let max_clients = *cfg.levels.iter().max().unwrap();
    // Connected as the server connects (commands::db::connect_options and pool_options), for a
    // fair comparison.
    let raw_pool = commands::db::pool_options()
        .max_connections(max_clients.min(60) as u32)
        .connect_with(commands::db::connect_options(url)?.application_name("agent-panel-bench-raw"))
        .await?;
    let raw = std::sync::Arc::new(Raw::new(raw_pool).await?);
    let duration = Duration::from_secs(cfg.seconds);

    let mut rows = Vec::new();
    for &op in &cfg.ops {
        if let Some(missing) = op.fields().iter().find(|f| !available.contains(**f)) {
            eprintln!(
                "{:<30} not available (the schema has no {missing})",
                op.name()
            );
            for &n in &cfg.levels {
                rows.push(Row {
                    op,
                    clients: n,
                    server: None,
                    raw: None,
                    note: Some(format!("not available: no {missing}")),
                });
            }
            continue;
        }
        for (li, &n) in cfg.levels.iter().enumerate() {
            let works = works_for(op, n, li, &world);
            let clients = works
                .iter()
                .map(|w| Client::Server {
                    api: Api::new(&server.base),
                    op,
                    work: w.clone(),
                    cursor: 0,
                })
                .collect();
            let s = ops::run(clients, duration, Some(server.pid())).await;
            let clients = works
                .iter()
                .map(|w| Client::Raw {
                    raw: raw.clone(),
                    op,
                    work: w.clone(),
                    cursor: 0,
                })
                .collect();
            let r = ops::run(clients, Duration::from_secs(cfg.raw_seconds), None).await;
            eprintln!(
                "{:<30} {:>3} clients: server {:>8.1}/s p50 {:>7.2} ms p99 {:>7.2} ms{} | raw {:>8.1}/s p50 {:>6.2} ms",
                op.name(),
                n,
                s.throughput(),
                s.pct_ms(50.0),
                s.pct_ms(99.0),
                if s.errors > 0 { format!(" ({} errors: {})", s.errors, s.first_error.clone().unwrap_or_default()) } else { String::new() },
                r.throughput(),
                r.pct_ms(50.0),
            );
            let note = (s.exhausted_clients > 0)
                .then(|| format!("{} clients used up their stock", s.exhausted_clients));
            rows.push(Row {
                op,
                clients: n,
                server: Some(s),
                raw: Some(r),
                note,
            });
            // Let the projections settle so one level's backlog does not slow the next.
            let _ = seed::wait_for_projections(&pool, Duration::from_secs(120)).await;
        }
    }

    // History independence: the same command on a long and a short stream, alternately.
    let history = if available.contains("sendMessage") {
        Some(history_check(&api, &world, cfg.history_samples).await)
    } else {
        None
    };

    // Memory soak (full mode): a mixed load at the largest client count, RSS sampled.
    let soak = if cfg.soak_seconds > 0 {
        Some(
            soak(
                cfg,
                &pool,
                &server.base,
                server.pid(),
                &world,
                &available,
                max_clients,
            )
            .await,
        )
    } else {
        None
    };

    let rss_top = rows
        .iter()
        .filter(|r| r.clients == max_clients)
        .filter_map(|r| r.server.as_ref().and_then(|s| s.max_rss_kib))
        .max();
    let summary = report(
        cfg,
        plan,
        &world,
        &rows,
        history.as_ref(),
        soak.as_ref(),
        idle_rss,
        seeded_rss,
        rss_top,
        max_clients,
        db_source,
        started,
    );
    let path = out_dir.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)?)?;
    println!("\nsummary written to {}", path.display());
    Ok(())
}

/// The clients of one level.
fn works_for(op: Op, n: usize, level_index: usize, world: &seed::World) -> Vec<Work> {
    (0..n)
        .map(|c| match op {
            Op::Inbound => Work {
                token: world.integration_token.clone(),
                targets: world
                    .inbound_targets
                    .iter()
                    .skip(c)
                    .step_by(n)
                    .cloned()
                    .collect(),
                ..Default::default()
            },
            Op::Send | Op::PendingRescue | Op::PendingList | Op::Counters => {
                let seat = &world.active[c];
                let attendances = match op {
                    Op::Send => seed::World::send_atts(seat),
                    Op::PendingRescue => seed::World::pair_atts(seat),
                    _ => vec![],
                };
                Work {
                    token: seat.token.clone(),
                    agent_id: seat.id,
                    attendances,
                    ..Default::default()
                }
            }
            Op::Finalize50 => {
                let seat = &world.finalizers[level_index].1[c];
                Work {
                    token: seat.token.clone(),
                    agent_id: seat.id,
                    attendances: seat.attendances.clone(),
                    ..Default::default()
                }
            }
        })
        .collect()
}

struct History {
    short: Outcome,
    long: Outcome,
}

async fn history_check(api: &Api, world: &seed::World, samples: usize) -> History {
    let mut short = Outcome::default();
    let mut long = Outcome::default();
    let t = &world.history.token;
    for i in 0..(samples + 2) {
        for (a, o) in [
            (world.history_short, &mut short),
            (world.history_long, &mut long),
        ] {
            let start = Instant::now();
            let r = api
                .ok(Some(t), ops::SEND_Q, json!({"a": a, "t": ops::AGENT_TEXT}))
                .await;
            let us = start.elapsed().as_micros() as u64;
            if i < 2 {
                continue; // warm-up
            }
            match r {
                Ok(_) => {
                    o.ok += 1;
                    o.latencies_us.push(us);
                }
                Err(e) => {
                    o.errors += 1;
                    o.first_error.get_or_insert(format!("{e:#}"));
                }
            }
        }
    }
    short.latencies_us.sort_unstable();
    long.latencies_us.sort_unstable();
    eprintln!(
        "history independence: sendMessage p50 {:.2} ms after 10 messages, {:.2} ms after 10,000 ({:.1}×)",
        short.pct_ms(50.0),
        long.pct_ms(50.0),
        long.pct_ms(50.0) / short.pct_ms(50.0)
    );
    History { short, long }
}

struct Soak {
    warmup: u64,
    seconds: u64,
    /// Every 5 s over the warm-up and the window: RSS, threads and database connections.
    samples: Vec<Sample>,
    outcome: Outcome,
}

/// One look at the server process during the soak.
#[derive(serde::Serialize)]
struct Sample {
    /// Seconds since the warm-up began.
    t: f64,
    rss_kib: u64,
    /// The process's threads (tokio's workers and its blocking pool).
    threads: Option<u64>,
    /// The server's open database connections (`application_name` agent-panel).
    connections: Option<u64>,
    /// Of those, how many were not open at the previous sample (none for the first).
    new_connections: Option<u64>,
}

impl Sample {
    async fn take(
        start: Instant,
        pid: u32,
        pool: &sqlx::PgPool,
        seen: &mut Option<std::collections::HashSet<i32>>,
    ) -> Option<Sample> {
        let rss_kib = db::rss_kib(pid)?;
        let pids: Option<Vec<i32>> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = $1",
        )
        .bind(commands::db::APPLICATION_NAME)
        .fetch_all(pool)
        .await
        .ok();
        let new_connections = match (&pids, seen.as_ref()) {
            (Some(p), Some(before)) => {
                Some(p.iter().filter(|p| !before.contains(p)).count() as u64)
            }
            _ => None,
        };
        if let Some(p) = &pids {
            *seen = Some(p.iter().copied().collect());
        }
        Some(Sample {
            t: start.elapsed().as_secs_f64(),
            rss_kib,
            threads: db::threads(pid),
            connections: pids.map(|p| p.len() as u64),
            new_connections,
        })
    }
}

impl Soak {
    /// The samples of the measured window (after the warm-up).
    fn window(&self) -> impl Iterator<Item = u64> + '_ {
        let from = self.warmup as f64;
        self.samples
            .iter()
            .filter(move |s| s.t >= from)
            .map(|s| s.rss_kib)
    }
}

/// The mixed load at `clients` for the warm-up and then the soak's window, in one run (the
/// clients go on through their targets), with the server sampled every 5 s ([`Sample`]).
async fn soak(
    cfg: &Config,
    pool: &sqlx::PgPool,
    base: &str,
    pid: u32,
    world: &seed::World,
    available: &std::collections::HashSet<String>,
    clients: usize,
) -> Soak {
    let mixed: Vec<Op> = [Op::Inbound, Op::Send, Op::PendingList, Op::Counters]
        .into_iter()
        .filter(|op| op.fields().iter().all(|f| available.contains(*f)))
        .collect();
    eprintln!(
        "memory soak: {} s of warm-up, then {} s measured, {clients} clients mixing {:?}",
        cfg.soak_warmup_seconds, cfg.soak_seconds, mixed
    );
    let mut soak = Soak {
        warmup: cfg.soak_warmup_seconds,
        seconds: cfg.soak_seconds,
        samples: vec![],
        outcome: Outcome::default(),
    };
    if mixed.is_empty() {
        return soak;
    }
    let total = Duration::from_secs(cfg.soak_warmup_seconds + cfg.soak_seconds);
    let start = Instant::now();
    let pool = pool.clone();
    let sampler = tokio::spawn(async move {
        let mut samples = Vec::new();
        let mut seen = None;
        while start.elapsed() < total {
            if let Some(s) = Sample::take(start, pid, &pool, &mut seen).await {
                samples.push(s);
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        samples
    });
    let all = mixed
        .iter()
        .enumerate()
        .flat_map(|(k, &op)| {
            let share = (clients / mixed.len()).max(1);
            works_for(op, share, 0, world)
                .into_iter()
                .map(move |w| Client::Server {
                    api: Api::new(base),
                    op,
                    work: w,
                    cursor: k,
                })
        })
        .collect();
    soak.outcome = ops::run(all, total, None).await;
    soak.samples = sampler.await.unwrap_or_default();
    soak
}

fn ms(v: f64) -> Value {
    if v.is_finite() {
        json!((v * 1000.0).round() / 1000.0)
    } else {
        Value::Null
    }
}

fn outcome_json(o: &Outcome) -> Value {
    json!({
        "min_ms": ms(o.pct_ms(0.0)),
        "ok": o.ok, "errors": o.errors, "first_error": o.first_error, "seconds": o.seconds,
        "throughput_per_s": (o.throughput() * 10.0).round() / 10.0,
        "p50_ms": ms(o.pct_ms(50.0)), "p95_ms": ms(o.pct_ms(95.0)), "p99_ms": ms(o.pct_ms(99.0)),
        "max_rss_kib": o.max_rss_kib,
        "each_mutation": (!o.each_command_us.is_empty()).then(|| json!({
            "count": o.each_command_us.len(),
            "p50_ms": ms(o.each_pct_ms(50.0)), "p95_ms": ms(o.each_pct_ms(95.0)), "p99_ms": ms(o.each_pct_ms(99.0)),
        })),
    })
}

#[allow(clippy::too_many_arguments)]
fn report(
    cfg: &Config,
    plan: &seed::Plan,
    world: &seed::World,
    rows: &[Row],
    history: Option<&History>,
    soak: Option<&Soak>,
    idle_rss: Option<u64>,
    seeded_rss: Option<u64>,
    rss_top: Option<u64>,
    max_clients: usize,
    db_source: &str,
    started: Instant,
) -> Value {
    println!();
    println!(
        "{:<30} {:>7} | {:>9} {:>8} {:>8} {:>8} | {:>9} {:>8} {:>8} {:>8} | {:>7} {:>7}  note",
        "operation",
        "clients",
        "server/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "raw/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "thr ÷",
        "p50 ×"
    );
    println!("{}", "-".repeat(150));
    let mut results = Vec::new();
    for r in rows {
        match (&r.server, &r.raw) {
            (Some(s), Some(raw)) => {
                let thr_ratio = raw.throughput() / s.throughput();
                let p50_ratio = s.pct_ms(50.0) / raw.pct_ms(50.0);
                let mut note = r.note.clone().unwrap_or_default();
                if s.errors > 0 {
                    note = format!(
                        "{note} {} errors: {}",
                        s.errors,
                        s.first_error.clone().unwrap_or_default()
                    );
                }
                println!(
                    "{:<30} {:>7} | {:>9.1} {:>8.2} {:>8.2} {:>8.2} | {:>9.1} {:>8.2} {:>8.2} {:>8.2} | {:>7.1} {:>7.1}  {}",
                    r.op.name(),
                    r.clients,
                    s.throughput(),
                    s.pct_ms(50.0),
                    s.pct_ms(95.0),
                    s.pct_ms(99.0),
                    raw.throughput(),
                    raw.pct_ms(50.0),
                    raw.pct_ms(95.0),
                    raw.pct_ms(99.0),
                    thr_ratio,
                    p50_ratio,
                    note.trim()
                );
                if !s.each_command_us.is_empty() {
                    println!(
                        "{:<30} {:>7} | {:>9} {:>8.2} {:>8.2} {:>8.2} | {:>9} {:>8.2} {:>8.2} {:>8.2} |",
                        "  each mutation of the pair",
                        r.clients,
                        "",
                        s.each_pct_ms(50.0),
                        s.each_pct_ms(95.0),
                        s.each_pct_ms(99.0),
                        "",
                        raw.each_pct_ms(50.0),
                        raw.each_pct_ms(95.0),
                        raw.each_pct_ms(99.0),
                    );
                }
                results.push(json!({
                    "operation": r.op.name(), "clients": r.clients,
                    "server": outcome_json(s), "raw": outcome_json(raw),
                    "raw_throughput_over_server": (thr_ratio * 100.0).round() / 100.0,
                    "server_p50_over_raw": (p50_ratio * 100.0).round() / 100.0,
                    "note": r.note,
                }));
            }
            _ => {
                println!(
                    "{:<30} {:>7} | {}",
                    r.op.name(),
                    r.clients,
                    r.note.clone().unwrap_or_default()
                );
                results.push(json!({"operation": r.op.name(), "clients": r.clients, "available": false, "note": r.note}));
            }
        }
    }
    println!();
    let mib = |k: Option<u64>| {
        k.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
            .unwrap_or_else(|| "n/a".into())
    };
    println!(
        "server RSS: {} idle before seeding, {} after seeding, {} max under the {max_clients}-client load",
        mib(idle_rss),
        mib(seeded_rss),
        mib(rss_top)
    );
    for k in [
        "projection_catch_up_seconds",
        "projection_catch_up_events_per_s",
        "events_bulk_inserted",
        "bulk_insert_seconds",
    ] {
        if let Some(v) = world.stats.get(k) {
            println!("{k}: {v}");
        }
    }
    let history_json = history.map(|h| {
        let ratio = h.long.pct_ms(50.0) / h.short.pct_ms(50.0);
        let min_ratio = h.long.pct_ms(0.0) / h.short.pct_ms(0.0);
        println!(
            "history independence (sendMessage): p50 {:.2} ms with 10 earlier messages, {:.2} ms with 10,000 → {:.1}× (min {:.2} vs {:.2} ms → {:.1}×)",
            h.short.pct_ms(50.0),
            h.long.pct_ms(50.0),
            ratio,
            h.short.pct_ms(0.0),
            h.long.pct_ms(0.0),
            min_ratio
        );
        json!({"short_10_messages": outcome_json(&h.short), "long_10000_messages": outcome_json(&h.long),
               "p50_ratio_long_over_short": (ratio * 100.0).round() / 100.0,
               "min_ms_short": ms(h.short.pct_ms(0.0)), "min_ms_long": ms(h.long.pct_ms(0.0)),
               "min_ratio_long_over_short": (min_ratio * 100.0).round() / 100.0})
    });
    let soak_json = soak.map(|s| {
        let window: Vec<u64> = s.window().collect();
        let first = window.first().copied();
        let last = window.last().copied();
        let max = window.iter().copied().max();
        let min = window.iter().copied().min();
        let growth = |to: Option<u64>| match (first, to) {
            (Some(f), Some(t)) if f > 0 => Some(((t as f64 / f as f64 - 1.0) * 1000.0).round() / 10.0),
            _ => None,
        };
        let warmup_first = s.samples.first().map(|x| x.rss_kib);
        println!(
            "memory soak {} s after {} s of warm-up: RSS first {}, last {} ({:+.1} %), min {}, max {} ({:+.1} %); at the warm-up's start {} ({} requests, {:.1}/s, {} errors)",
            s.seconds,
            s.warmup,
            mib(first),
            mib(last),
            growth(last).unwrap_or(f64::NAN),
            mib(min),
            mib(max),
            growth(max).unwrap_or(f64::NAN),
            mib(warmup_first),
            s.outcome.ok,
            s.outcome.throughput(),
            s.outcome.errors
        );
        json!({"seconds": s.seconds, "warmup_seconds": s.warmup,
               "samples": s.samples, "warmup_first_kib": warmup_first,
               "first_kib": first, "last_kib": last, "min_kib": min, "max_kib": max,
               "growth_pct_last_over_first": growth(last), "growth_pct_max_over_first": growth(max),
               "requests": outcome_json(&s.outcome)})
    });
    println!("total time: {:.0} s", started.elapsed().as_secs_f64());
    json!({
        "mode": if cfg.quick { "quick" } else { "full" },
        "date": chrono::Utc::now().to_rfc3339(),
        "machine": machine(),
        "database": db_source,
        "seconds_per_level": cfg.seconds,
        "client_counts": cfg.levels,
        "world": world.stats,
        "plan": {"finalizer_stock_per_agent": plan.finalizers.iter().map(|f| json!({"clients": f.0, "stock": f.2})).collect::<Vec<_>>()},
        "results": results,
        "rss_kib": {"idle": idle_rss, "after_seed": seeded_rss, "max_at_top_load": rss_top, "top_load_clients": max_clients},
        "history_independence": history_json,
        "soak": soak_json,
        "total_seconds": started.elapsed().as_secs_f64(),
        "notes": BTreeMap::from([
            ("raw", "same-shape SQL per command in one transaction: the event row (same columns and payload) and the read-model rows its projection writes; writes go to copies of the tables in schema bench_raw"),
            ("soak", "one continuous mixed load: warmup_seconds, then seconds measured; first/last/min/max and growth are over the measured window; samples holds both (RSS, threads, the server's database connections and how many are new since the sample before), timed from the warm-up's start"),
            ("throughput", "successful operations per second over the level's duration; a pair counts once; finalizeAttendances counts calls of 50 ids"),
            ("each_mutation", "for the markPending + rescueAttendance pair: the latency of each of its two mutations (the pair's own latencies are the sum)"),
        ]),
    })
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("model name"))
            .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
    });
    let mem = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        s.lines().next().map(|l| {
            l.split_whitespace()
                .nth(1)
                .unwrap_or("0")
                .parse::<u64>()
                .unwrap_or(0)
        })
    });
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": cpu,
        "memory_gib": mem.map(|k| (k as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0),
        "os": std::env::consts::OS,
    })
}
