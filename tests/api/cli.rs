//! The `agent-panel` binary's commands, run as a user would: `create-admin` (and its refusal of
//! an e-mail in use), `print-schema`, `migrate`, and `serve` stopping cleanly on SIGTERM, with a
//! database from `DATABASE_URL` and with a managed PostgreSQL that it stops on the way out.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use uuid::Uuid;

use crate::helpers::app::spawn_app_on;
use crate::helpers::db::{empty_database, test_database, MIGRATOR};

/// Longest wait for a line of the server's output: a managed cluster runs initdb first.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest wait for the server to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// `agent-panel` with `args`, on the database `DATABASE_URL` names when given, else on a managed
/// PostgreSQL (`DATABASE_URL` removed from the environment).
fn agent_panel(args: &[&str], database_url: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_agent-panel"));
    command
        .args(args)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    command
}

async fn run(args: &[&str], database_url: &str) -> Output {
    agent_panel(args, Some(database_url))
        .output()
        .await
        .expect("agent-panel runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn create_admin_creates_an_administrator_who_can_log_in() {
    let db = test_database().await;
    let email = format!("root-{}@example.com", Uuid::new_v4().simple());
    let password = "a long admin password";

    let out = run(
        &[
            "create-admin",
            "--email",
            &email,
            "--password",
            password,
            "--name",
            "Root",
        ],
        &db.url,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&email), "{}", text(&out.stdout));

    let id = text(&out.stdout)
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    // The read model is up to date when create-admin exits: the admin can log in at once.
    let projected: Option<String> =
        sqlx::query_scalar("SELECT id::text FROM agents WHERE email = $1")
            .bind(&email)
            .fetch_optional(&db.pool)
            .await
            .unwrap();
    assert_eq!(projected.as_deref(), Some(id.as_str()));

    let app = spawn_app_on(db).await;
    let data = app
        .ok(
            None,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
            json!({"e": email, "p": password}),
        )
        .await;
    let token = data["login"]["token"].as_str().unwrap();
    let me = app
        .ok(Some(token), "{ me { id name email role } }", json!({}))
        .await;
    assert_eq!(
        me["me"],
        json!({"id": id, "name": "Root", "email": email, "role": "ADMIN"})
    );
}

#[tokio::test]
async fn create_admin_refuses_an_e_mail_in_use() {
    let db = test_database().await;
    let email = format!("root-{}@example.com", Uuid::new_v4().simple());
    let args = [
        "create-admin",
        "--email",
        &email,
        "--password",
        "a long admin password",
    ];
    assert!(run(&args, &db.url).await.status.success());

    let again = run(&args, &db.url).await;
    assert!(!again.status.success(), "the second run must fail");
    let stderr = text(&again.stderr);
    assert!(
        stderr.contains(&format!("an agent with e-mail {email} already exists")),
        "{stderr}"
    );
    let admins: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'AgentRegistered'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(admins, 1);
}

#[tokio::test]
async fn print_schema_prints_the_exported_sdl() {
    let out = agent_panel(&["print-schema"], None)
        .output()
        .await
        .expect("agent-panel runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let exported = Path::new(env!("CARGO_MANIFEST_DIR")).join("graphql/schema.graphql");
    let exported = std::fs::read_to_string(exported).unwrap();
    assert!(
        text(&out.stdout) == exported,
        "print-schema differs from graphql/schema.graphql"
    );
}

#[tokio::test]
async fn migrate_applies_every_migration_once_and_can_run_again() {
    let url = &empty_database().await;
    for run_number in 1..=2 {
        let out = run(&["migrate"], url).await;
        assert!(
            out.status.success(),
            "run {run_number}: {}",
            text(&out.stderr)
        );
    }
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&pool)
            .await
            .unwrap();
    let expected: Vec<i64> = MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| m.version)
        .collect();
    assert_eq!(applied, expected);
    pool.close().await;
}

/// A `serve` process and its standard output.
struct Server {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Server {
    fn start(database_url: Option<&str>, data_dir: Option<&Path>) -> Server {
        let mut command = agent_panel(&["serve", "--bind", "127.0.0.1:0"], database_url);
        if let Some(dir) = data_dir {
            command.env("AGENT_PANEL_DATA_DIR", dir);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("serve starts");
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        Server { child, stdout }
    }

    async fn next_line(&mut self) -> String {
        tokio::time::timeout(START_TIMEOUT, self.stdout.next_line())
            .await
            .expect("serve prints within the timeout")
            .unwrap()
            .expect("serve printed a line before exiting")
    }

    /// Reads up to the listen address line and returns the base URL.
    async fn base_url(&mut self) -> String {
        loop {
            let line = self.next_line().await;
            if let Some(rest) = line.strip_prefix("agent-panel listening on ") {
                return rest.trim_end_matches("/graphql").to_string();
            }
        }
    }

    async fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().expect("still running") as i32;
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(pid).unwrap(),
            rustix::process::Signal::TERM,
        )
        .expect("SIGTERM sent");
        tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .expect("serve exits after SIGTERM")
            .unwrap()
    }
}

async fn assert_healthy(base: &str) {
    let res = reqwest::get(format!("{base}/health")).await.unwrap();
    assert!(res.status().is_success());
    assert_eq!(res.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn serve_exits_cleanly_on_sigterm() {
    let db = test_database().await;
    let mut server = Server::start(Some(&db.url), None);
    let base = server.base_url().await;
    assert_healthy(&base).await;

    let status = server.terminate().await;
    assert!(status.success(), "{status:?}");
    assert!(
        reqwest::get(format!("{base}/health")).await.is_err(),
        "nothing listens any more"
    );
}

/// Removes a directory when dropped, even when the test fails.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn serve_stops_its_managed_postgresql_on_sigterm() {
    if let Err(e) = agent_panel::postgres::binaries::PgBinaries::find(None) {
        println!("skipped: no PostgreSQL binaries to manage a cluster with ({e})");
        return;
    }
    // Under /tmp: as root the cluster runs as `postgres`, who must reach the directory.
    let dir = TempDir(std::env::temp_dir().join(format!("agent-panel-cli-{}", Uuid::new_v4())));
    let mut server = Server::start(None, Some(&dir.0));
    let announced = server.next_line().await;
    assert_eq!(
        announced,
        format!(
            "agent-panel: managed PostgreSQL data in {}",
            dir.0.display()
        )
    );
    let base = server.base_url().await;
    assert_healthy(&base).await;
    let pid_file = dir.0.join("pgdata/postmaster.pid");
    assert!(pid_file.exists(), "the managed cluster runs");

    let status = server.terminate().await;
    assert!(status.success(), "{status:?}");
    assert!(!pid_file.exists(), "the managed cluster was stopped");
}
