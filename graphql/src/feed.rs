//! The change feed behind every subscription: each server instance reads the event log itself,
//! in the same never-skipping global order as the projections (`projections::log`), but only up
//! to where *every* projection has applied it — so what a subscriber receives agrees with what a
//! query returns right after. Since every instance reads the shared log, a change made through
//! instance A reaches subscribers on instance B without any broker; `NOTIFY events` only wakes
//! the readers (payloads stay empty: readers fetch the rest).
//!
//! A change's cursor is its event's place in the log, so a client that reconnects with the last
//! cursor it saw gets every change it missed, in order ([`Feed::replay`]), within
//! [`REPLAY_HORIZON`]; past it, one RESYNC tells it to re-query.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use projections::log::{read_after, Checkpoint, StoredEvent};
use sqlx::postgres::PgListener;
use sqlx::{PgPool, Row};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::presence::{Connections, PRESENCE_CHANNEL};

/// Every aggregate type the feed follows.
const AGGREGATE_TYPES: &[&str] = &["Contact", "Attendance", "Agent"];

/// Events read per round.
const FEED_BATCH: i64 = 500;

/// How many missed events a reconnecting client may be replayed; older cursors get RESYNC.
pub const REPLAY_HORIZON: i64 = 10_000;

/// Buffered items per subscriber before a slow one starts missing live items (it then gets a
/// RESYNC).
const CHANNEL_CAPACITY: usize = 4_096;

/// The longest the feed sleeps without a wake-up.
const POLL: Duration = Duration::from_millis(500);

/// One thing subscribers may care about.
#[derive(Debug, Clone)]
pub enum FeedItem {
    /// An event, once every read model includes it.
    Event(Arc<StoredEvent>),
    /// An agent's websocket connection opened or closed (on any instance).
    Connection(Uuid),
}

/// The feed of this instance.
#[derive(Clone)]
pub struct Feed {
    tx: broadcast::Sender<FeedItem>,
    head: watch::Sender<Checkpoint>,
}

impl Default for Feed {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CHANNEL_CAPACITY).0,
            head: watch::channel(Checkpoint::default()).0,
        }
    }
}

/// A cursor as clients see it.
pub fn encode_cursor(c: Checkpoint) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", c.tx_id, c.position))
}

/// A cursor from a client; None when it is not one of ours.
pub fn decode_cursor(s: &str) -> Option<Checkpoint> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok()?;
    let (tx, pos) = raw.split_once(':')?;
    Some(Checkpoint {
        tx_id: tx.parse().ok()?,
        position: pos.parse().ok()?,
    })
}

/// What a reconnecting client gets before the live items.
pub enum Replay {
    Events(Vec<Arc<StoredEvent>>),
    /// Too old (or not a cursor): re-query.
    Resync,
}

impl Feed {
    pub fn subscribe(&self) -> broadcast::Receiver<FeedItem> {
        self.tx.subscribe()
    }

    /// The last event delivered live.
    pub fn head(&self) -> Checkpoint {
        *self.head.borrow()
    }

    /// The events after `since` up to the live head, for one subscriber to filter.
    pub async fn replay(&self, pool: &PgPool, since: &str) -> Replay {
        let Some(from) = decode_cursor(since) else {
            return Replay::Resync;
        };
        let head = self.head();
        let mut conn = match pool.acquire().await {
            Ok(c) => c,
            Err(_) => return Replay::Resync,
        };
        match read_after(&mut conn, from, AGGREGATE_TYPES, REPLAY_HORIZON + 1).await {
            Ok(events) => {
                let events: Vec<_> = events
                    .into_iter()
                    .filter(|e| e.checkpoint <= head)
                    .map(Arc::new)
                    .collect();
                if events.len() as i64 > REPLAY_HORIZON {
                    Replay::Resync
                } else {
                    Replay::Events(events)
                }
            }
            Err(_) => Replay::Resync,
        }
    }

    /// Reads the log and broadcasts, forever (a background task of each instance).
    pub async fn run(self, pool: PgPool, connections: Connections, readers: Readers) {
        let mut cursor = match checkpoints(&pool)
            .await
            .map(|c| c.values().copied().min().unwrap_or_default())
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "the change feed cannot start");
                return;
            }
        };
        self.head.send_replace(cursor);
        let (wake_tx, mut wake_rx) = tokio::sync::mpsc::channel::<()>(1);
        let listener_pool = pool.clone();
        let items = self.tx.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(mut l) = PgListener::connect_with(&listener_pool).await {
                    if l.listen_all(["events", PRESENCE_CHANNEL]).await.is_ok() {
                        while let Ok(n) = l.recv().await {
                            if n.channel() == PRESENCE_CHANNEL {
                                if let Ok(agent) = n.payload().parse() {
                                    let _ = items.send(FeedItem::Connection(agent));
                                }
                            }
                            let _ = wake_tx.try_send(());
                        }
                    }
                }
                tokio::time::sleep(POLL).await;
            }
        });
        loop {
            match self.advance(&pool, &connections, &readers, cursor).await {
                Ok(next) if next != cursor => {
                    cursor = next;
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "change feed read failed"),
            }
            let _ = tokio::time::timeout(POLL, wake_rx.recv()).await;
        }
    }

    async fn advance(
        &self,
        pool: &PgPool,
        connections: &Connections,
        readers: &Readers,
        cursor: Checkpoint,
    ) -> anyhow::Result<Checkpoint> {
        let done = checkpoints(pool).await?;
        // An event is ready once every projection reading its aggregate type has applied it.
        let ready = |e: &StoredEvent| {
            readers
                .iter()
                .filter(|(_, types)| types.contains(&e.aggregate_type.as_str()))
                .all(|(name, _)| done.get(*name).is_some_and(|cp| *cp >= e.checkpoint))
        };
        let mut conn = pool.acquire().await?;
        let mut at = cursor;
        for e in read_after(&mut conn, cursor, AGGREGATE_TYPES, FEED_BATCH).await? {
            if !ready(&e) {
                break;
            }
            at = e.checkpoint;
            if e.event_type == "AgentLoggedOut" {
                if let Some(session) = e
                    .payload
                    .pointer("/AgentLoggedOut/session_id")
                    .and_then(|v| v.as_str())
                {
                    if let Ok(id) = session.parse() {
                        connections.end_session(id);
                    }
                }
            }
            let _ = self.tx.send(FeedItem::Event(Arc::new(e)));
        }
        self.head.send_replace(at);
        Ok(at)
    }
}

/// Each projection's name and the aggregate types it reads.
pub type Readers = Vec<(&'static str, &'static [&'static str])>;

/// Where each projection has got to (the feed never runs ahead of a read model).
async fn checkpoints(pool: &PgPool) -> anyhow::Result<HashMap<String, Checkpoint>> {
    let rows =
        sqlx::query("SELECT name, tx_id::text::bigint AS tx, position FROM projection_checkpoints")
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("name")?,
                Checkpoint {
                    tx_id: r.try_get("tx")?,
                    position: r.try_get("position")?,
                },
            ))
        })
        .collect()
}
