//! The database: the schema, embedded (every migration in `migrations/`, applied on start), how
//! a URL becomes connection options, and how a pool hands out connections.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::Connection;

/// All migrations of the repository's `migrations/` folder.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// How many migrations this build knows (for `/ready`).
pub fn migrations_count() -> usize {
    MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .count()
}

/// The `application_name` of the server's sessions, by which `pg_stat_activity` and the
/// PostgreSQL log tell them from other clients of the same database.
pub const APPLICATION_NAME: &str = "agent-panel";

/// The connection options of `url`, named [`APPLICATION_NAME`] unless the URL (or `PGAPPNAME`)
/// names them.
/// - JIT compilation is off for the server's sessions: every query here is short, but the
///   planner prices a read of the event log by the millions of rows the table holds (a `LIMIT`
///   reads a few hundred), so PostgreSQL JIT-compiled it, and with LLVM optimization above
///   `jit_optimize_above_cost`, each batch of a catch-up spent from 20 ms to seconds compiling.
/// - A server on this machine (a loopback address or a Unix socket) is reached without TLS
///   unless the URL asks for it (`sslmode=…`): encrypting traffic that never leaves the machine
///   protects nothing and costs both sides CPU on every round trip (sqlx's default, `prefer`,
///   would negotiate it whenever the server offers it).
pub fn connect_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    let mut options: PgConnectOptions = url.parse::<PgConnectOptions>()?.options([("jit", "off")]);
    if options.get_application_name().is_none() {
        options = options.application_name(APPLICATION_NAME);
    }
    let local = matches!(
        options.get_host(),
        "localhost" | "127.0.0.1" | "::1" | "[::1]"
    ) || options.get_host().starts_with('/');
    if local && !url.contains("sslmode=") {
        return Ok(options.ssl_mode(PgSslMode::Disable));
    }
    Ok(options)
}

/// How long a pooled connection may sit idle and still be handed out without a check.
pub const UNCHECKED_IDLE: Duration = Duration::from_secs(1);

/// The options of every pool the server opens (and of the benchmark's raw baseline, for a fair
/// comparison).
///
/// A connection is checked before it is handed out (sqlx's ping: a `Sync` and its answer, one
/// round trip) only when it sat idle for longer than [`UNCHECKED_IDLE`]. sqlx's default checks
/// every time; most statements here take a connection of their own, so that was one more round
/// trip per statement, half of all a `sendMessage` made. A connection in steady use has just
/// answered; if it breaks anyway (the server restarted), the statement fails with a
/// connection error, sqlx closes it, and the next one connects anew.
pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > UNCHECKED_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_server_is_reached_without_tls_unless_the_url_asks_jit_is_off_and_sessions_are_named()
    {
        let local = connect_options("postgres://u@127.0.0.1:5432/db").unwrap();
        assert!(matches!(local.get_ssl_mode(), PgSslMode::Disable));
        let asked = connect_options("postgres://u@localhost/db?sslmode=require").unwrap();
        assert!(matches!(asked.get_ssl_mode(), PgSslMode::Require));
        let remote = connect_options("postgres://u@db.example.com/db").unwrap();
        assert!(matches!(remote.get_ssl_mode(), PgSslMode::Prefer));
        assert_eq!(remote.get_options(), Some("-c jit=off"));
        assert_eq!(local.get_application_name(), Some(APPLICATION_NAME));
        let named = connect_options("postgres://u@127.0.0.1/db?application_name=x").unwrap();
        assert_eq!(named.get_application_name(), Some("x"));
    }
}
