//! The chat notification (item 8): `agentChatMessageReceived(since)` delivers messages sent to
//! the subscriber, first replaying those after `since`, then live ones — across server
//! instances.
//!
//! # How a message reaches a subscriber
//! The insert's trigger NOTIFYs `agent_chat` with the message id at commit. Every instance runs
//! one [`ChatHub`] listener task (started by its first subscriber) that LISTENs there, loads the
//! message and broadcasts it in-process; each subscription keeps those addressed to its agent.
//! A subscriber joins the broadcast before the listener is known to be LISTENing and before the
//! replay query runs, so a message committed meanwhile comes by replay, live, or both — and
//! "both" is filtered out by id.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, Subscription};
use commands::chat::read::{self, ChatMessageRow};
use commands::chat::NOTIFY_CHANNEL;
use commands::CommandError;
use futures::{stream, Stream, StreamExt};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, OnceCell};
use uuid::Uuid;

use crate::auth;
use crate::error::{gql, internal};
use crate::state::ApiState;
use crate::types::chat::AgentChatMessage;

/// Most messages one `since` replays: a client that missed more reloads its chats with the
/// queries instead of streaming a backlog (it gets LIMIT_EXCEEDED and subscribes without since).
pub const REPLAY_MAX: i64 = 1_000;

/// Messages buffered per subscriber before a slow one starts losing the oldest.
const HUB_CAPACITY: usize = 1_024;

/// Pause before retrying when the listener's connection fails (sqlx reconnects on the next
/// receive).
const LISTENER_RETRY: Duration = Duration::from_secs(1);

/// This instance's fan-out of new chat messages; one per schema, kept in the schema's data.
pub struct ChatHub {
    sender: broadcast::Sender<Arc<ChatMessageRow>>,
    listening: OnceCell<()>,
}

impl Default for ChatHub {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(HUB_CAPACITY).0,
            listening: OnceCell::new(),
        }
    }
}

impl ChatHub {
    /// A receiver of every new message, with the listener LISTENing when this returns.
    pub async fn subscribe(
        &self,
        pool: &PgPool,
    ) -> sqlx::Result<broadcast::Receiver<Arc<ChatMessageRow>>> {
        let receiver = self.sender.subscribe();
        self.listening
            .get_or_try_init(|| async {
                let mut listener = PgListener::connect_with(pool).await?;
                listener.listen(NOTIFY_CHANNEL).await?;
                tokio::spawn(listen(listener, pool.clone(), self.sender.downgrade()));
                Ok::<_, sqlx::Error>(())
            })
            .await?;
        Ok(receiver)
    }
}

/// The listener task: until the hub is gone, load each notified message and broadcast it.
async fn listen(
    mut listener: PgListener,
    pool: PgPool,
    hub: broadcast::WeakSender<Arc<ChatMessageRow>>,
) {
    loop {
        let notification = match listener.recv().await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "agent chat listener failed; retrying");
                tokio::time::sleep(LISTENER_RETRY).await;
                continue;
            }
        };
        let Some(sender) = hub.upgrade() else { return };
        let Ok(id) = notification.payload().parse::<Uuid>() else {
            tracing::warn!(
                payload = notification.payload(),
                "agent chat notification without a message id"
            );
            continue;
        };
        match read::get_unscoped(&pool, id).await {
            // No receiver is fine: nobody on this instance is subscribed.
            Ok(Some(message)) => drop(sender.send(Arc::new(message))),
            Ok(None) => tracing::warn!(%id, "notified agent chat message not found"),
            Err(e) => {
                tracing::error!(error = %e, %id, "loading a notified agent chat message failed")
            }
        }
    }
}

#[derive(Default)]
pub struct ChatSubscription;

#[Subscription]
impl ChatSubscription {
    /// Chat messages to me; `since` (a message id) first replays those after it.
    async fn agent_chat_message_received(
        &self,
        ctx: &Context<'_>,
        since: Option<Uuid>,
    ) -> async_graphql::Result<impl Stream<Item = AgentChatMessage>> {
        let (me, _, _) = auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let hub = ctx.data::<ChatHub>()?;
        let pool = state.pool();
        let receiver = hub.subscribe(pool).await.map_err(internal)?;
        let replay = match since {
            None => Vec::new(),
            Some(id) => {
                let from = read::get(pool, me, id)
                    .await
                    .map_err(internal)?
                    .ok_or_else(|| gql(CommandError::not_found("chat message")))?;
                let missed = read::received_after(pool, me, (from.at, from.id), REPLAY_MAX + 1)
                    .await
                    .map_err(internal)?;
                if missed.len() as i64 > REPLAY_MAX {
                    return Err(gql(CommandError::LimitExceeded(format!(
                        "more than {REPLAY_MAX} messages since then: reload the chats and subscribe without since"
                    ))));
                }
                missed
            }
        };
        let replayed: HashSet<Uuid> = replay.iter().map(|m| m.id).collect();
        let live = stream::unfold(receiver, |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(message) => return Some((message, receiver)),
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "a slow agent chat subscriber lost messages");
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        })
        .filter(move |m| std::future::ready(m.to_agent_id == me && !replayed.contains(&m.id)))
        .map(AgentChatMessage);
        Ok(stream::iter(replay.into_iter().map(AgentChatMessage::from)).chain(live))
    }
}
