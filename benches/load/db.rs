//! Where the benchmark's database lives, and the server process under test.
//!
//! The database server is `DATABASE_URL`'s if set, else `postgres://postgres@127.0.0.1:5432`
//! if it answers, else a cluster managed by agent-panel's own
//! [`ManagedPostgres`](agent_panel::postgres::ManagedPostgres) under `target/bench-pg`
//! (`/tmp/agent-panel-bench-pg` as root, a directory the `postgres` user can reach). On it a
//! fresh database `agent_panel_bench_<time>` is created for each run and dropped at the end
//! (`--keep-db` keeps it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agent_panel::postgres::ManagedPostgres;
use anyhow::{bail, Context};
use sqlx::{Connection, PgConnection};

const LOCAL_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The database server chosen for this run.
pub struct DbServer {
    /// The maintenance database, for CREATE/DROP DATABASE.
    pub admin_url: String,
    /// Where it came from, for the report.
    pub source: String,
    managed: Option<ManagedPostgres>,
}

impl DbServer {
    pub async fn choose(target_dir: &Path) -> anyhow::Result<DbServer> {
        if let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            return Ok(DbServer {
                admin_url: with_database(&url, "postgres"),
                source: "DATABASE_URL".into(),
                managed: None,
            });
        }
        let probe =
            tokio::time::timeout(Duration::from_secs(3), PgConnection::connect(LOCAL_DEFAULT))
                .await;
        if let Ok(Ok(conn)) = probe {
            conn.close().await.ok();
            return Ok(DbServer {
                admin_url: LOCAL_DEFAULT.into(),
                source: "local postgres on 127.0.0.1:5432".into(),
                managed: None,
            });
        }
        let dir = if agent_panel::postgres::binaries::running_as_root() {
            PathBuf::from("/tmp/agent-panel-bench-pg")
        } else {
            target_dir.join("bench-pg")
        };
        let managed = ManagedPostgres::start(&dir)
            .await
            .context("starting a managed PostgreSQL for the benchmark")?;
        Ok(DbServer {
            admin_url: managed.admin_url(),
            source: format!("managed PostgreSQL in {}", dir.display()),
            managed: Some(managed),
        })
    }

    /// Creates a fresh database and returns its URL.
    pub async fn create_database(&self, name: &str) -> anyhow::Result<String> {
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        admin.close().await.ok();
        Ok(with_database(&self.admin_url, name))
    }

    pub async fn drop_database(&self, name: &str) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
        admin.close().await.ok();
        Ok(())
    }

    pub async fn stop(self) {
        if let Some(m) = self.managed {
            let _ = m.stop().await;
        }
    }
}

/// `url` with its database replaced, query string kept.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[start..].find('/') {
        Some(slash) => &base[..start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{database}?{q}"),
        None => format!("{server}/{database}"),
    }
}

/// The release server binary under test, as a child process.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub async fn start(database_url: &str, log: &Path) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log_file = std::fs::File::create(log)?;
        let child = Command::new(env!("CARGO_BIN_EXE_agent-panel"))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", database_url)
            .env(
                "RUST_LOG",
                std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::from(log_file))
            .spawn()
            .context("starting the agent-panel server")?;
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{}/health", server.base)).send().await {
                if r.status().is_success() {
                    return Ok(server);
                }
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "the server did not answer /health within 60 s (see {})",
                    log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the server process, in KiB (VmRSS).
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid())
    }

    pub fn stop(mut self) {
        // SIGTERM would be cleaner, but std has no portable way to send it; the database is
        // disposable and the server is crash-safe by design.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS:")
}

/// How many threads the process runs.
pub fn threads(pid: u32) -> Option<u64> {
    status_field(pid, "Threads:")
}

/// A numeric field of `/proc/<pid>/status` (Linux only).
fn status_field(pid: u32, name: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}
