//! A PostgreSQL cluster that agent-panel creates, starts and stops itself.
//!
//! # Layout of the data directory
//!
//! ```text
//! <data dir>/
//!   pgdata/            the cluster (PGDATA); created once by initdb, never re-created
//!   run/               the unix socket (or /tmp when this path is too long for a socket)
//!   postgres.log       the server's log
//!   agent-panel.lock   serialises initdb/start between processes sharing the directory
//! ```
//!
//! Each start picks a free loopback port; a server that is already running (started by another
//! process, or left by a crashed one) is reused on the port its `postmaster.pid` names, and is
//! left running when we finish, since it was not ours to stop.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use sqlx::{Connection, PgConnection};

use super::binaries::{PgBinaries, RunAs, SERVICE_USER};

/// The database the application uses, created on first start.
pub const APP_DATABASE: &str = "agent_panel";
/// The maintenance database every cluster has; we connect to it to create others.
pub const ADMIN_DATABASE: &str = "postgres";
/// The superuser initdb creates; `trust` auth on loopback only, so it needs no password.
const SUPERUSER: &str = "postgres";

const PGDATA_DIR: &str = "pgdata";
const SOCKET_DIR: &str = "run";
const LOG_FILE: &str = "postgres.log";
const LOCK_FILE: &str = "agent-panel.lock";

/// Tests open a pool per test database, so allow more than PostgreSQL's default of 100.
const MAX_CONNECTIONS: u32 = 200;
/// How long `pg_ctl start/stop -w` may wait; a first start after a crash replays the WAL.
const PG_CTL_WAIT_SECONDS: u32 = 120;
/// A free port can be taken by someone else between our probe and the server's bind: retry.
const START_ATTEMPTS: u32 = 3;
/// How long to keep trying to connect once the server reports it is up.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// A server found running was started with `pg_ctl -w` under the lock, so it answers at once
/// unless it is really a dead one: give up on it sooner.
const REUSED_READY_TIMEOUT: Duration = Duration::from_secs(3);
/// How often to look again at a server that is said to run but does not answer.
const STALE_SERVER_ATTEMPTS: u32 = 10;
const STALE_SERVER_RETRY_DELAY: Duration = Duration::from_secs(2);
const READY_RETRY_INTERVAL: Duration = Duration::from_millis(200);
/// Socket paths are limited to 104 bytes on macOS (108 on Linux), including
/// "/.s.PGSQL.<port>" and the final NUL.
const MAX_SOCKET_DIR_LEN: usize = 104 - ".s.PGSQL.65535".len() - 2;
/// Lines of the server log quoted when it fails to start.
const LOG_TAIL_LINES: usize = 30;

/// A running PostgreSQL server on 127.0.0.1 whose cluster lives in our data directory.
///
/// [`ManagedPostgres::stop`] (or, as a fallback, dropping it) stops the server if this value
/// started it.
#[derive(Debug)]
pub struct ManagedPostgres {
    data_dir: PathBuf,
    pgdata: PathBuf,
    port: u16,
    pg_ctl: PathBuf,
    run_as: RunAs,
    /// Whether this process started the server, and so is the one to stop it.
    started_here: bool,
    stopped: bool,
}

impl ManagedPostgres {
    /// Creates the cluster under `data_dir` if there is none, starts it unless it is already
    /// running, waits until it accepts connections and makes sure database `agent_panel` exists.
    pub async fn start(data_dir: &Path) -> anyhow::Result<ManagedPostgres> {
        let mut attempt = 1;
        loop {
            let dir = data_dir.to_owned();
            let postgres = tokio::task::spawn_blocking(move || start_blocking(&dir))
                .await
                .context("the PostgreSQL start-up task panicked")??;
            let timeout = if postgres.started_here {
                READY_TIMEOUT
            } else {
                REUSED_READY_TIMEOUT
            };
            match postgres.wait_until_ready(timeout).await {
                Ok(()) => {
                    postgres.ensure_database(APP_DATABASE).await?;
                    return Ok(postgres);
                }
                // `pg_ctl status` also says "running" for a crashed postmaster whose pid is
                // not reaped yet (a zombie) or was reused: look again once that has passed.
                Err(error) if !postgres.started_here && attempt < STALE_SERVER_ATTEMPTS => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "the PostgreSQL said to be running does not answer; retrying"
                    );
                    attempt += 1;
                    tokio::time::sleep(STALE_SERVER_RETRY_DELAY).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// URL of the application database `agent_panel`.
    pub fn url(&self) -> String {
        self.url_for(APP_DATABASE)
    }

    /// URL of the maintenance database `postgres`, for creating and dropping databases.
    pub fn admin_url(&self) -> String {
        self.url_for(ADMIN_DATABASE)
    }

    /// URL of any database of this server.
    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory that holds the cluster, its socket and its log.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops the server with a clean ("fast") shutdown if this value started it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        tokio::task::spawn_blocking(move || self.stop_blocking())
            .await
            .context("the PostgreSQL stop task panicked")?
    }

    fn stop_blocking(&mut self) -> anyhow::Result<()> {
        if !self.started_here || self.stopped {
            return Ok(());
        }
        self.stopped = true;
        // "fast" rolls back open transactions and checkpoints: nothing committed is lost.
        let output = self
            .run_as
            .command(&self.pg_ctl)
            .current_dir(&self.data_dir)
            .arg("stop")
            .arg("-D")
            .arg(&self.pgdata)
            .args(["-m", "fast", "-w", "-t", &PG_CTL_WAIT_SECONDS.to_string()])
            .output()
            .context("running pg_ctl stop")?;
        check(&output, "pg_ctl stop")?;
        tracing::info!(data_dir = %self.data_dir.display(), "stopped managed PostgreSQL");
        Ok(())
    }

    async fn wait_until_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            match PgConnection::connect(&self.admin_url()).await {
                Ok(connection) => {
                    connection.close().await.ok();
                    return Ok(());
                }
                Err(error) if Instant::now() < deadline => {
                    tracing::debug!(%error, "managed PostgreSQL not ready yet");
                    tokio::time::sleep(READY_RETRY_INTERVAL).await;
                }
                Err(error) => {
                    return Err(error).with_context(|| {
                        format!(
                            "managed PostgreSQL on port {} did not accept connections within \
                             {timeout:?}; see {}",
                            self.port,
                            self.data_dir.join(LOG_FILE).display()
                        )
                    })
                }
            }
        }
    }

    /// Creates `database` unless it exists; tolerates another process creating it meanwhile.
    pub async fn ensure_database(&self, database: &str) -> anyhow::Result<()> {
        let mut connection = PgConnection::connect(&self.admin_url()).await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(database)
                .fetch_one(&mut connection)
                .await?;
        if !exists {
            let sql = format!("CREATE DATABASE \"{}\"", database.replace('"', "\"\""));
            if let Err(error) = sqlx::query(&sql).execute(&mut connection).await {
                // 42P04 duplicate_database, or 23505 when two CREATEs race in the catalog.
                let raced = error
                    .as_database_error()
                    .and_then(|e| e.code())
                    .is_some_and(|code| code == "42P04" || code == "23505");
                if !raced {
                    return Err(error).with_context(|| format!("creating database {database}"));
                }
            }
        }
        connection.close().await.ok();
        Ok(())
    }
}

impl Drop for ManagedPostgres {
    /// A fallback for paths that never reach [`ManagedPostgres::stop`] (errors, panics).
    fn drop(&mut self) {
        if let Err(error) = self.stop_blocking() {
            tracing::warn!(
                error = format!("{error:#}"),
                "could not stop managed PostgreSQL"
            );
        }
    }
}

/// Everything up to a running server, under the cross-process lock.
fn start_blocking(data_dir: &Path) -> anyhow::Result<ManagedPostgres> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let data_dir = data_dir
        .canonicalize()
        .with_context(|| format!("resolving {}", data_dir.display()))?;
    let pgdata = data_dir.join(PGDATA_DIR);
    let version_file = pgdata.join("PG_VERSION");
    let cluster_major = std::fs::read_to_string(&version_file)
        .ok()
        .map(|v| v.trim().to_owned());
    let binaries = PgBinaries::find(cluster_major.as_deref())?;
    let run_as = RunAs::detect()?;

    // Several processes (parallel test binaries, a second `serve`) may share the directory:
    // only one may run initdb or start the server at a time.
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join(LOCK_FILE))
        .with_context(|| format!("opening the lock file in {}", data_dir.display()))?;
    let mut lock = fd_lock::RwLock::new(lock_file);
    let _guard = lock.write().context("locking the data directory")?;

    run_as.hand_over(&data_dir)?;
    ensure_reachable(&run_as, &data_dir)?;
    let socket_dir = socket_dir(&data_dir, &run_as)?;

    if !version_file.exists() {
        if pgdata.exists() && std::fs::read_dir(&pgdata)?.next().is_some() {
            // Something we did not create: never let initdb near data we don't understand.
            bail!(
                "{} is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it away \
                 or choose another AGENT_PANEL_DATA_DIR",
                pgdata.display()
            );
        }
        initdb(&binaries, &run_as, &data_dir, &pgdata)?;
    }

    let mut postgres = ManagedPostgres {
        data_dir: data_dir.clone(),
        pgdata: pgdata.clone(),
        port: 0,
        pg_ctl: binaries.pg_ctl.clone(),
        run_as: run_as.clone(),
        started_here: false,
        stopped: false,
    };
    if is_running(&binaries, &run_as, &data_dir, &pgdata)? {
        postgres.port = running_port(&pgdata)?;
        tracing::info!(port = postgres.port, "reusing running managed PostgreSQL");
        return Ok(postgres);
    }

    let mut last_error = None;
    for _ in 0..START_ATTEMPTS {
        let port = free_port()?;
        // pg_ctl hands -o to /bin/sh, hence the quoting of the socket path.
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections={MAX_CONNECTIONS} \
             -c fsync=on",
            shell_quote(&socket_dir.to_string_lossy())
        );
        let output = run_as
            .command(&binaries.pg_ctl)
            .current_dir(&data_dir)
            .arg("start")
            .arg("-D")
            .arg(&pgdata)
            .arg("-l")
            .arg(data_dir.join(LOG_FILE))
            .args(["-w", "-t", &PG_CTL_WAIT_SECONDS.to_string(), "-o", &options])
            .output()
            .context("running pg_ctl start")?;
        match check(&output, "pg_ctl start") {
            Ok(()) => {
                postgres.port = port;
                postgres.started_here = true;
                tracing::info!(port, data_dir = %data_dir.display(), "started managed PostgreSQL");
                return Ok(postgres);
            }
            Err(error) => last_error = Some(error),
        }
    }
    let error = last_error.unwrap_or_else(|| anyhow::anyhow!("pg_ctl start never ran"));
    Err(error.context(format!(
        "could not start PostgreSQL in {}; the end of its log:\n{}",
        pgdata.display(),
        log_tail(&data_dir.join(LOG_FILE))
    )))
}

/// Creates the cluster: superuser `postgres`, trusted on loopback (nothing else listens).
fn initdb(
    binaries: &PgBinaries,
    run_as: &RunAs,
    data_dir: &Path,
    pgdata: &Path,
) -> anyhow::Result<()> {
    tracing::info!(pgdata = %pgdata.display(), "creating managed PostgreSQL cluster");
    // C.UTF-8 gives case-folding of accented names; macOS and old glibc lack it, where the
    // plain C locale still works. initdb removes what it created when it fails.
    let mut failure = None;
    for locale in ["C.UTF-8", "C"] {
        let output = run_as
            .command(&binaries.initdb)
            .current_dir(data_dir)
            .arg("-D")
            .arg(pgdata)
            .args(["--auth=trust", "--username", SUPERUSER, "--encoding=UTF8"])
            .arg(format!("--locale={locale}"))
            .output()
            .context("running initdb")?;
        match check(&output, "initdb") {
            Ok(()) => return Ok(()),
            Err(error) => failure = Some(error),
        }
    }
    Err(failure.unwrap_or_else(|| anyhow::anyhow!("initdb never ran")))
}

/// `pg_ctl status`: 0 running, 3 not running (a stale postmaster.pid counts as not running).
fn is_running(
    binaries: &PgBinaries,
    run_as: &RunAs,
    data_dir: &Path,
    pgdata: &Path,
) -> anyhow::Result<bool> {
    let output = run_as
        .command(&binaries.pg_ctl)
        .current_dir(data_dir)
        .arg("status")
        .arg("-D")
        .arg(pgdata)
        .output()
        .context("running pg_ctl status")?;
    match output.status.code() {
        Some(0) => Ok(true),
        Some(3) => Ok(false),
        _ => check(&output, "pg_ctl status").map(|()| false),
    }
}

/// The port of a running server: line 4 of `postmaster.pid`.
fn running_port(pgdata: &Path) -> anyhow::Result<u16> {
    let pid_file = pgdata.join("postmaster.pid");
    let text = std::fs::read_to_string(&pid_file)
        .with_context(|| format!("reading {}", pid_file.display()))?;
    text.lines()
        .nth(3)
        .and_then(|line| line.trim().parse().ok())
        .with_context(|| format!("no port in {}", pid_file.display()))
}

/// As root, the `postgres` user must be able to reach the data directory: a private parent
/// such as `/root` would make initdb fail with a far less helpful message.
fn ensure_reachable(run_as: &RunAs, data_dir: &Path) -> anyhow::Result<()> {
    if *run_as == RunAs::CurrentUser {
        return Ok(());
    }
    let reachable = run_as
        .command("test")
        .arg("-w")
        .arg(data_dir)
        .output()
        .is_ok_and(|output| output.status.success());
    if !reachable {
        bail!(
            "running as root, PostgreSQL runs as the `{SERVICE_USER}` user, which cannot reach \
             {} (a parent directory is private to root). Set AGENT_PANEL_DATA_DIR to a directory \
             it can reach, e.g. /var/lib/agent-panel, or run as an unprivileged user.",
            data_dir.display()
        );
    }
    Ok(())
}

/// `<data dir>/run`, or `/tmp` when that path is too long for a unix socket.
fn socket_dir(data_dir: &Path, run_as: &RunAs) -> anyhow::Result<PathBuf> {
    let dir = data_dir.join(SOCKET_DIR);
    if dir.as_os_str().len() > MAX_SOCKET_DIR_LEN {
        return Ok(std::env::temp_dir());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    run_as.hand_over(&dir)?;
    Ok(dir)
}

/// A port nobody listens on right now (the kernel's pick for port 0).
fn free_port() -> anyhow::Result<u16> {
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", 0)).context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn check(output: &Output, what: &str) -> anyhow::Result<()> {
    if output.status.success() {
        return Ok(());
    }
    bail!(
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim(),
        String::from_utf8_lossy(&output.stdout).trim()
    )
}

fn log_tail(log: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(log) {
        file.read_to_string(&mut text).ok();
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Its own directory, apart from the integration tests' shared cluster, so that stopping
    /// it disturbs nobody; beside `AGENT_PANEL_TEST_DATA_DIR` when that is set (as root the
    /// `postgres` user must be able to reach it, which a checkout under /root is not).
    fn lifecycle_dir() -> PathBuf {
        match std::env::var_os("AGENT_PANEL_TEST_DATA_DIR").filter(|dir| !dir.is_empty()) {
            Some(dir) => {
                let mut dir = dir;
                dir.push("-lifecycle");
                PathBuf::from(dir)
            }
            None if super::super::binaries::running_as_root() => {
                PathBuf::from("/tmp/agent-panel-test-pg-lifecycle")
            }
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-pg-lifecycle"),
        }
    }

    #[tokio::test]
    async fn a_restarted_cluster_keeps_its_data() {
        let dir = lifecycle_dir();
        let first = ManagedPostgres::start(&dir).await.unwrap();
        let mut db = PgConnection::connect(&first.url()).await.unwrap();
        sqlx::query("CREATE TABLE IF NOT EXISTS kept (id INT PRIMARY KEY)")
            .execute(&mut db)
            .await
            .unwrap();
        let marker: i32 = rand_marker();
        sqlx::query("INSERT INTO kept VALUES ($1)")
            .bind(marker)
            .execute(&mut db)
            .await
            .unwrap();
        db.close().await.unwrap();
        let first_port = first.port();
        let started_here = first.started_here;
        first.stop().await.unwrap();

        let second = ManagedPostgres::start(&dir).await.unwrap();
        if started_here {
            // Stopped and started again: a fresh port may or may not equal the old one, but
            // the server really went away in between.
            assert!(second.started_here);
        } else {
            assert_eq!(second.port(), first_port);
        }
        let mut db = PgConnection::connect(&second.url()).await.unwrap();
        let found: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM kept WHERE id = $1)")
            .bind(marker)
            .fetch_one(&mut db)
            .await
            .unwrap();
        db.close().await.unwrap();
        second.stop().await.unwrap();
        assert!(found, "the row written before the restart is gone");
    }

    fn rand_marker() -> i32 {
        // Distinct per run so that an old row cannot make the test pass.
        (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % i32::MAX as u128) as i32
    }

    #[test]
    fn shell_quote_survives_single_quotes() {
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
    }
}
