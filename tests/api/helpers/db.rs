//! A fresh, migrated database for each test, on a real PostgreSQL server.
//!
//! The server is the one `DATABASE_URL` names (any database in it: we create ours next to it),
//! or else one managed cluster under `target/test-pg` that the whole test process shares, as
//! `serve` would run it. That cluster is deliberately left running when the tests end, so the
//! next run (and parallel test processes, which take turns through its lock file) reuse it
//! without paying for initdb and start-up; `pg_ctl stop -D target/test-pg/pgdata` or
//! `cargo clean` gets rid of it.
//!
//! Test databases are not dropped: on PostgreSQL 15 `DROP DATABASE` holds a transaction id
//! while it waits for a forced checkpoint, which holds back `pg_snapshot_xmin` for the whole
//! server, so every projection of every test (and of anyone else on that server) stalls for
//! the checkpoint's length; one drop per test made read-your-writes waits time out under load.
//! Drop stale `t_…` databases when nothing runs against the server.

use std::path::PathBuf;

use agent_panel::postgres::ManagedPostgres;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection};
use tokio::sync::OnceCell;

/// Every migration of the repository, as the application applies them.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Each test's own pool stays small: tests run in parallel against one server, whose
/// `max_connections` (100 by default, 200 when managed) they must share.
const MAX_CONNECTIONS_PER_TEST: u32 = 5;

/// Overrides where the tests' managed cluster lives (default `target/test-pg`): as root it
/// must be a directory the `postgres` user can reach.
const TEST_DATA_DIR_ENV: &str = "AGENT_PANEL_TEST_DATA_DIR";

/// The managed cluster, started at most once per test process; never dropped (see above).
static MANAGED: OnceCell<Result<ManagedPostgres, String>> = OnceCell::const_new();

/// A database created for one test.
#[derive(Clone)]
pub struct TestDatabase {
    /// Connects to this test's database, e.g. for the application under test.
    pub url: String,
    /// A pool on it, with the migrations applied.
    pub pool: PgPool,
}

/// Creates an empty database `t_<uuid>`, applies the migrations and connects to it.
pub async fn test_database() -> TestDatabase {
    let url = empty_database().await;
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS_PER_TEST)
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    MIGRATOR
        .run(&pool)
        .await
        .unwrap_or_else(|e| panic!("migrating {url}: {e}"));
    TestDatabase { url, pool }
}

/// Creates an empty database `t_<uuid>`, without migrations, and returns its URL.
pub async fn empty_database() -> String {
    let admin_url = admin_url().await;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test server {admin_url}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
    admin.close().await.ok();
    with_database(&admin_url, &name)
}

/// The maintenance database `postgres` of the server the tests use.
async fn admin_url() -> String {
    if let Some(url) = std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
    {
        return with_database(&url, "postgres");
    }
    let managed = MANAGED
        .get_or_init(|| async {
            ManagedPostgres::start(&test_data_dir())
                .await
                .map_err(|e| format!("{e:#}"))
        })
        .await;
    match managed {
        Ok(postgres) => postgres.admin_url(),
        Err(error) => panic!("DATABASE_URL is unset and the managed PostgreSQL failed: {error}"),
    }
}

fn test_data_dir() -> PathBuf {
    std::env::var_os(TEST_DATA_DIR_ENV)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            if agent_panel::postgres::binaries::running_as_root() {
                // The cluster runs as `postgres`, who may not reach a checkout under /root.
                PathBuf::from("/tmp/agent-panel-test-pg")
            } else {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-pg")
            }
        })
}

/// `url` with its database (the path after the host) replaced by `database`, query kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

#[test]
fn with_database_replaces_only_the_database() {
    assert_eq!(
        with_database("postgres://u:p@h:5432/app?sslmode=disable", "postgres"),
        "postgres://u:p@h:5432/postgres?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "t_1"), "postgres://h/t_1");
}
