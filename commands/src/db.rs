//! The database schema, embedded: every migration in `migrations/`, applied on start.

use sqlx::migrate::Migrator;

/// All migrations of the repository's `migrations/` folder.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// How many migrations this build knows (for `/ready`).
pub fn migrations_count() -> usize {
    MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .count()
}
