//! Rebuilding one projection from the log in a test, as `agent-panel replay` does.

use projections::replay::{rebuild, Mode, ReplayReport};
use sqlx::PgPool;

/// Rebuilds projection `name` in `mode` (Verify: beside the live tables, listing differences).
pub async fn rebuild_projection(pool: &PgPool, name: &str, mode: Mode) -> ReplayReport {
    let all = projections::all();
    let p = all
        .iter()
        .find(|p| p.name() == name)
        .unwrap_or_else(|| panic!("no projection {name}"));
    rebuild(pool, p.clone(), mode).await.unwrap()
}
