//! The `agents` read model: who each agent is, their credentials for login, services, limits
//! and presence. Built from Agent events only.

use domain::agent::AgentEvent;
use domain::kinds::PresenceStatus;
use domain::values::search::fold;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;
use crate::projection::{ApplyFuture, Projection};

/// The projection's name (its checkpoint row).
pub const NAME: &str = "agents";

pub struct AgentsProjection;

impl Projection for AgentsProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &["Agent"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["agents"]
    }

    fn apply<'a>(&'a self, tx: &'a mut PgConnection, event: &'a StoredEvent) -> ApplyFuture<'a> {
        Box::pin(async move {
            let id: Uuid = event.aggregate_id.parse()?;
            let ev: AgentEvent = event.decode()?;
            apply(tx, id, event.sequence, ev).await
        })
    }
}

async fn apply(tx: &mut PgConnection, id: Uuid, seq: i64, ev: AgentEvent) -> anyhow::Result<()> {
    match ev {
        AgentEvent::AgentRegistered {
            name,
            email,
            password_hash,
            role,
            service_ids,
            max_concurrent,
            at,
            ..
        } => {
            sqlx::query(
                "INSERT INTO agents (id, version, name, name_search, email, role, password_hash, service_ids,
                                     max_concurrent, active, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true, $10, $10)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(seq)
            .bind(&name)
            .bind(fold(&name))
            .bind(email.as_str())
            .bind(role.as_str())
            .bind(password_hash)
            .bind(service_ids)
            .bind(i32::try_from(max_concurrent)?)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        AgentEvent::AgentUpdated { changes, at } => {
            sqlx::query(
                "UPDATE agents SET version = $2, updated_at = $3,
                        name = COALESCE($4, name), name_search = COALESCE($5, name_search),
                        role = COALESCE($6, role), service_ids = COALESCE($7, service_ids),
                        max_concurrent = COALESCE($8, max_concurrent), active = COALESCE($9, active)
                  WHERE id = $1",
            )
            .bind(id)
            .bind(seq)
            .bind(at)
            .bind(changes.name.as_deref())
            .bind(changes.name.as_deref().map(fold))
            .bind(changes.role.map(|r| r.as_str()))
            .bind(changes.service_ids)
            .bind(changes.max_concurrent.map(i32::try_from).transpose()?)
            .bind(changes.active)
            .execute(&mut *tx)
            .await?;
        }
        AgentEvent::AgentPasswordChanged { password_hash, at } => {
            sqlx::query(
                "UPDATE agents SET version = $2, updated_at = $3, password_hash = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(seq)
            .bind(at)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        }
        AgentEvent::AgentImageChanged { image, at } => {
            sqlx::query(
                "UPDATE agents SET version = $2, updated_at = $3, image_sha256 = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(seq)
            .bind(at)
            .bind(image.sha256)
            .execute(&mut *tx)
            .await?;
        }
        AgentEvent::AgentLoggedIn { at, .. } => {
            // The first session of a login opens it; a second device keeps the original start.
            sqlx::query(
                "UPDATE agents SET version = $2, updated_at = $3,
                        logged_in_since = COALESCE(logged_in_since, $3),
                        presence = CASE WHEN pause_reason_id IS NULL THEN $4 ELSE presence END,
                        idle_since = COALESCE(idle_since, $3)
                  WHERE id = $1",
            )
            .bind(id)
            .bind(seq)
            .bind(at)
            .bind(PresenceStatus::Online.as_str())
            .execute(&mut *tx)
            .await?;
        }
        AgentEvent::AgentLoggedOut {
            went_offline, at, ..
        } => {
            sqlx::query(
                "UPDATE agents SET version = $2, updated_at = $3,
                        logged_in_since = CASE WHEN $4 THEN NULL ELSE logged_in_since END,
                        presence = CASE WHEN $4 THEN $5 ELSE presence END,
                        pause_reason_id = CASE WHEN $4 THEN NULL ELSE pause_reason_id END,
                        pause_since = CASE WHEN $4 THEN NULL ELSE pause_since END,
                        idle_since = CASE WHEN $4 THEN NULL ELSE idle_since END
                  WHERE id = $1",
            )
            .bind(id)
            .bind(seq)
            .bind(at)
            .bind(went_offline)
            .bind(PresenceStatus::Offline.as_str())
            .execute(&mut *tx)
            .await?;
        }
        AgentEvent::PauseStarted { reason_id, at } => {
            sqlx::query(
                "UPDATE agents SET version = $2, updated_at = $3, presence = $5, pause_reason_id = $4, pause_since = $3
                  WHERE id = $1",
            )
            .bind(id)
            .bind(seq)
            .bind(at)
            .bind(reason_id)
            .bind(PresenceStatus::Paused.as_str())
            .execute(&mut *tx)
            .await?;
        }
        AgentEvent::PauseReasonChanged { reason_id, at, .. } => {
            sqlx::query("UPDATE agents SET version = $2, updated_at = $3, pause_reason_id = $4 WHERE id = $1")
                .bind(id)
                .bind(seq)
                .bind(at)
                .bind(reason_id)
                .execute(&mut *tx)
                .await?;
        }
        AgentEvent::PauseEnded { at, .. } => {
            sqlx::query(
                "UPDATE agents SET version = $2, updated_at = $3, pause_reason_id = NULL, pause_since = NULL,
                        presence = CASE WHEN logged_in_since IS NULL THEN $4 ELSE $5 END
                  WHERE id = $1",
            )
            .bind(id)
            .bind(seq)
            .bind(at)
            .bind(PresenceStatus::Offline.as_str())
            .bind(PresenceStatus::Online.as_str())
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

/// Reads of the agents read model.
pub mod read {
    use chrono::{DateTime, Utc};
    use sqlx::PgPool;
    use uuid::Uuid;

    /// One agent as the API shows it (never the password hash).
    #[derive(Debug, Clone, sqlx::FromRow)]
    pub struct AgentRow {
        pub id: Uuid,
        pub name: String,
        pub email: String,
        pub role: String,
        pub service_ids: Vec<Uuid>,
        pub max_concurrent: i32,
        pub active: bool,
        pub image_sha256: Option<String>,
        pub presence: String,
        pub logged_in_since: Option<DateTime<Utc>>,
        pub pause_reason_id: Option<Uuid>,
        pub pause_since: Option<DateTime<Utc>>,
    }

    const COLUMNS: &str =
        "id, name, email, role, service_ids, max_concurrent, active, image_sha256, presence,
                           logged_in_since, pause_reason_id, pause_since";

    pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<AgentRow>> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM agents WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await
    }

    pub async fn get_many(pool: &PgPool, ids: &[Uuid]) -> sqlx::Result<Vec<AgentRow>> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM agents WHERE id = ANY($1)"))
            .bind(ids)
            .fetch_all(pool)
            .await
    }

    /// Active agents other than `except`, by accent-insensitive name, for the agent chat.
    pub async fn search(
        pool: &PgPool,
        except: Uuid,
        folded: Option<&str>,
        limit: i64,
    ) -> sqlx::Result<Vec<AgentRow>> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM agents
              WHERE active AND id <> $1 AND ($2::text IS NULL OR name_search LIKE '%' || $2 || '%')
              ORDER BY name_search, id LIMIT $3"
        ))
        .bind(except)
        .bind(folded)
        .bind(limit)
        .fetch_all(pool)
        .await
    }
}
