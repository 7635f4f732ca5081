//! The live-connection indicator: which agents have a websocket open on any server instance.
//!
//! Each instance records its open sockets in `ws_connections` and refreshes its own heartbeat
//! in `ws_instances` every [`HEARTBEAT_INTERVAL`] (one row per instance, however many sockets);
//! an agent is connected while one of their sockets belongs to an instance whose heartbeat is
//! fresher than [`STALE_AFTER_SECONDS`], so the sockets of an instance that died stop counting
//! on their own. Opening or
//! closing a socket notifies `presence` (the agent id), so every instance can tell its
//! `presenceChanged` subscribers. Sockets of a session that ends are closed here too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

/// How often an instance refreshes the heartbeat of its sockets.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);

/// A socket row older than this no longer counts: three missed heartbeats.
pub const STALE_AFTER_SECONDS: i64 = 30;

/// The NOTIFY channel telling every instance an agent's connection changed.
pub const PRESENCE_CHANNEL: &str = "presence";

struct Socket {
    agent_id: Uuid,
    session_id: Option<Uuid>,
    close: watch::Sender<bool>,
}

/// This instance's open sockets.
#[derive(Clone)]
pub struct Connections {
    instance_id: Uuid,
    sockets: Arc<Mutex<HashMap<Uuid, Socket>>>,
}

impl Default for Connections {
    fn default() -> Self {
        Self {
            instance_id: Uuid::new_v4(),
            sockets: Arc::default(),
        }
    }
}

impl Connections {
    pub fn instance_id(&self) -> Uuid {
        self.instance_id
    }

    /// Whether any websocket of the agent is open on any instance.
    pub async fn is_connected(&self, pool: &PgPool, agent_id: Uuid) -> bool {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM ws_connections c JOIN ws_instances i USING (instance_id)
                             WHERE c.agent_id = $1 AND i.heartbeat_at > now() - make_interval(secs => $2))",
        )
        .bind(agent_id)
        .bind(STALE_AFTER_SECONDS as f64)
        .fetch_one(pool)
        .await
        .unwrap_or(false)
    }

    /// Records an open socket; the receiver turns true when the socket must close (its session
    /// ended). Call [`Connections::close`] when the socket ends.
    pub async fn open(
        &self,
        pool: &PgPool,
        agent_id: Uuid,
        session_id: Option<Uuid>,
    ) -> (Uuid, watch::Receiver<bool>) {
        let id = Uuid::new_v4();
        let (tx, rx) = watch::channel(false);
        if let Ok(mut m) = self.sockets.lock() {
            m.insert(
                id,
                Socket {
                    agent_id,
                    session_id,
                    close: tx,
                },
            );
        }
        let inserted = sqlx::query(
            "WITH instance AS (
                 INSERT INTO ws_instances (instance_id) VALUES ($2) ON CONFLICT DO NOTHING)
             INSERT INTO ws_connections (id, instance_id, agent_id, session_id) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(self.instance_id)
        .bind(agent_id)
        .bind(session_id)
        .execute(pool)
        .await;
        if let Err(e) = inserted {
            tracing::warn!(error = %e, "cannot record a websocket");
        }
        notify(pool, agent_id).await;
        (id, rx)
    }

    /// Forgets a closed socket.
    pub async fn close(&self, pool: &PgPool, socket_id: Uuid) {
        let agent = self
            .sockets
            .lock()
            .ok()
            .and_then(|mut m| m.remove(&socket_id))
            .map(|s| s.agent_id);
        let _ = sqlx::query("DELETE FROM ws_connections WHERE id = $1")
            .bind(socket_id)
            .execute(pool)
            .await;
        if let Some(agent_id) = agent {
            notify(pool, agent_id).await;
        }
    }

    /// Closes this instance's sockets of an ended session.
    pub fn end_session(&self, session_id: Uuid) {
        if let Ok(m) = self.sockets.lock() {
            for s in m.values().filter(|s| s.session_id == Some(session_id)) {
                let _ = s.close.send(true);
            }
        }
    }

    /// Refreshes this instance's rows forever (run as a background task).
    pub async fn heartbeat(self, pool: PgPool) {
        let mut tick = tokio::time::interval(HEARTBEAT_INTERVAL);
        loop {
            tick.tick().await;
            let _ = sqlx::query(
                "INSERT INTO ws_instances (instance_id, heartbeat_at) VALUES ($1, now())
                 ON CONFLICT (instance_id) DO UPDATE SET heartbeat_at = now()",
            )
            .bind(self.instance_id)
            .execute(&pool)
            .await;
            // Dead instances and their sockets: gone after a while, so the tables stay small.
            let _ = sqlx::query(
                "WITH dead AS (DELETE FROM ws_instances WHERE heartbeat_at < now() - interval '1 hour'
                               RETURNING instance_id)
                 DELETE FROM ws_connections WHERE instance_id IN (SELECT instance_id FROM dead)",
            )
            .execute(&pool)
            .await;
        }
    }
}

async fn notify(pool: &PgPool, agent_id: Uuid) {
    let _ = sqlx::query("SELECT pg_notify($1, $2)")
        .bind(PRESENCE_CHANNEL)
        .bind(agent_id.to_string())
        .execute(pool)
        .await;
}
