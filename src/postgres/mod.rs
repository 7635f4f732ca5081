//! Where the database comes from: `DATABASE_URL`, or else a PostgreSQL we manage ourselves.
//!
//! # Layout
//!
//! - [`binaries`]: finding `initdb`/`pg_ctl` and, as root, running them as `postgres`.
//! - [`managed`]: [`ManagedPostgres`], a cluster under the data directory that we create,
//!   start and stop.
//!
//! See `docs/postgres.md` for the user-facing description.

pub mod binaries;
pub mod managed;

use std::path::PathBuf;

pub use managed::ManagedPostgres;

/// Names the database server to use; when unset we run our own.
pub const DATABASE_URL_ENV: &str = "DATABASE_URL";
/// Where the managed cluster lives; when unset, [`default_data_dir`].
pub const DATA_DIR_ENV: &str = "AGENT_PANEL_DATA_DIR";

/// `data/` under the platform's data directory (`~/.local/share/agent-panel/data` on Linux,
/// `~/Library/Application Support/agent-panel/data` on macOS), or `./data` when the platform
/// has none (no home directory). As root, `/var/lib/agent-panel/data`: the cluster then runs as
/// the `postgres` user, who cannot enter root's home.
pub fn default_data_dir() -> PathBuf {
    if binaries::running_as_root() {
        return PathBuf::from("/var/lib/agent-panel/data");
    }
    dirs::data_dir()
        .map(|dir| dir.join("agent-panel").join("data"))
        .unwrap_or_else(|| PathBuf::from("data"))
}

/// The database URL to connect to, and the managed server behind it if we had to start one.
///
/// `database_url` wins when given; otherwise a managed cluster is started in `data_dir` (or
/// [`default_data_dir`]). `None` and empty values fall back to the `DATABASE_URL` and
/// `AGENT_PANEL_DATA_DIR` variables, so callers without clap behave the same. Keep the returned
/// [`ManagedPostgres`] alive while the app runs and call [`ManagedPostgres::stop`] on shutdown.
pub async fn resolve_database(
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<(String, Option<ManagedPostgres>)> {
    let database_url = database_url.filter(|url| !url.is_empty()).or_else(|| {
        std::env::var(DATABASE_URL_ENV)
            .ok()
            .filter(|url| !url.is_empty())
    });
    if let Some(url) = database_url {
        return Ok((url, None));
    }
    let data_dir = data_dir
        .filter(|dir| !dir.as_os_str().is_empty())
        .or_else(|| {
            std::env::var_os(DATA_DIR_ENV)
                .filter(|dir| !dir.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(default_data_dir);
    tracing::info!(
        data_dir = %data_dir.display(),
        "DATABASE_URL is not set: running a managed PostgreSQL"
    );
    let postgres = ManagedPostgres::start(&data_dir).await?;
    Ok((postgres.url(), Some(postgres)))
}
