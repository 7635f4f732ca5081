//! Serving one subscription websocket (`GET /graphql/ws`, graphql-transport-ws and the legacy
//! graphql-ws protocol) around async-graphql's protocol engine, adding what it lacks:
//! - server pings every [`PING_INTERVAL`] (a protocol `ping` for graphql-transport-ws, a `ka`
//!   for graphql-ws, and a websocket Ping frame), so a client can tell a dead connection within
//!   30 s; a client that sends nothing (not even a pong) for [`DEAD_AFTER`] is dropped;
//! - the protocol's close codes: a refused `connection_init` closes with 4403, a subscribe
//!   before the handshake with 4401;
//! - presence: the socket counts as the agent's live connection while open, on every
//!   instance ([`crate::presence`]), and is closed when its session ends.
//!
//! An idle socket costs little: 4 KiB read buffer, no write buffer ([`READ_BUFFER`] and the
//! other limits, set on the upgrade in `routes.rs`), and no timer of its own but the ping tick
//! (the writer waits for the session's end on a watch, not by polling).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt};
use uuid::Uuid;

use crate::auth::RequestInfo;
use crate::schema::AppSchema;
use crate::state::ApiState;

/// A socket recorded in presence: its id, and the signal that its session ended.
type Registered = (Uuid, tokio::sync::watch::Receiver<bool>);

/// How often the server pings.
pub const PING_INTERVAL: Duration = Duration::from_secs(10);

/// Silence after which a client counts as gone.
pub const DEAD_AFTER: Duration = Duration::from_secs(30);

/// Close code for a session that ended (logout, password change, expiry).
pub const CLOSE_SESSION_ENDED: u16 = 4403;

/// Read buffer per socket (axum's default is 128 KiB: with thousands of idle subscribers, the
/// buffers would be most of the server's memory). Client messages are small.
pub const READ_BUFFER: usize = 4 * 1024;

/// Largest message (and frame) a client may send: a subscribe with its query and variables.
pub const MAX_CLIENT_MESSAGE: usize = 256 * 1024;

/// Most bytes a socket may have waiting to be written to a client that does not read; past
/// it, writing fails and the socket closes. (No write buffer otherwise: each message is written
/// at once.)
pub const MAX_WRITE_BUFFER: usize = 1024 * 1024;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Serves one upgraded socket until it closes.
pub async fn serve(
    socket: WebSocket,
    schema: AppSchema,
    protocol: GraphQLProtocol,
    legacy: bool,
    api: ApiState,
    correlation: String,
) {
    let (mut ws_sink, ws_stream) = socket.split();
    let (out_tx, mut out_rx) = futures::channel::mpsc::channel::<Message>(64);
    let last_seen = Arc::new(AtomicI64::new(now_ms()));
    let acked = Arc::new(AtomicBool::new(false));
    // Set once connection_init is accepted for an agent.
    let (registered, mut writer_registered) =
        tokio::sync::watch::channel::<Option<Registered>>(None);
    let registered = Arc::new(registered);
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);

    let seen = last_seen.clone();
    let input = ws_stream.inspect(move |_| seen.store(now_ms(), Ordering::Relaxed));

    // The writer: forwards what the engine says, pings, and closes dead or ended sockets.
    let writer_acked = acked.clone();
    let writer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(PING_INTERVAL);
        tick.tick().await;
        // Resolves when the agent's session ends; never for other actors.
        let ended = async move {
            let rx = match writer_registered.wait_for(|r| r.is_some()).await {
                Ok(reg) => reg.as_ref().map(|(_, rx)| rx.clone()),
                Err(_) => None,
            };
            let Some(mut rx) = rx else {
                return std::future::pending::<()>().await;
            };
            if rx.wait_for(|v| *v).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::pin!(ended);
        loop {
            tokio::select! {
                msg = out_rx.next() => {
                    let Some(msg) = msg else { break };
                    let msg = rewrite_close(msg, writer_acked.load(Ordering::Relaxed));
                    if let Message::Text(t) = &msg {
                        if t.contains("\"connection_ack\"") {
                            writer_acked.store(true, Ordering::Relaxed);
                        }
                    }
                    let closing = matches!(msg, Message::Close(_));
                    if ws_sink.send(msg).await.is_err() || closing {
                        break;
                    }
                }
                _ = tick.tick() => {
                    if now_ms() - last_seen.load(Ordering::Relaxed) > DEAD_AFTER.as_millis() as i64 {
                        let _ = ws_sink.send(close(4408, "no answer to pings")).await;
                        break;
                    }
                    let ping = if legacy { r#"{"type":"ka"}"# } else { r#"{"type":"ping","payload":{}}"# };
                    if writer_acked.load(Ordering::Relaxed) {
                        let _ = ws_sink.send(Message::Text(ping.into())).await;
                    }
                    if ws_sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                        break;
                    }
                }
                _ = &mut ended => {
                    let _ = ws_sink.send(close(CLOSE_SESSION_ENDED, "session ended")).await;
                    break;
                }
            }
        }
        let _ = ws_sink.close().await;
        let _ = stop_tx.send(true);
    });

    let init_api = api.clone();
    let init_registered = registered.clone();
    let engine = GraphQLWebSocket::new_with_pair(
        out_tx,
        input.take_until(async move {
            let _ = stop_rx.wait_for(|v| *v).await;
        }),
        schema,
        protocol,
    )
    .on_connection_init(move |payload| async move {
        let token = payload
            .get("authorization")
            .or_else(|| payload.get("Authorization"))
            .and_then(|v| v.as_str())
            .map(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
                    .unwrap_or(v)
                    .to_string()
            });
        let Some(token) = token else {
            return Err(async_graphql::Error::new("a bearer token is required"));
        };
        let actor = commands::auth::sessions::resolve_token(
            init_api.pool(),
            &token,
            init_api.clock().now(),
        )
        .await
        .ok()
        .flatten()
        .ok_or_else(|| async_graphql::Error::new("invalid or expired token"))?;
        if let commands::Actor::Agent { id, session_id, .. } = &actor {
            let reg = init_api
                .connections()
                .open(init_api.pool(), *id, *session_id)
                .await;
            init_registered.send_replace(Some(reg));
        }
        let mut data = async_graphql::Data::default();
        data.insert(RequestInfo {
            actor: Some(actor),
            correlation_id: correlation,
            address: String::new(),
        });
        Ok(data)
    });
    engine.serve().await;
    let _ = writer.await;
    let socket_id = registered.send_replace(None).map(|(id, _)| id);
    if let Some(id) = socket_id {
        api.connections().close(api.pool(), id).await;
    }
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.to_string().into(),
    }))
}

/// Maps async-graphql's generic close codes to the graphql-transport-ws ones.
fn rewrite_close(msg: Message, acked: bool) -> Message {
    match msg {
        Message::Close(Some(frame)) if !acked && frame.code == 1002 => close(4403, &frame.reason),
        Message::Close(Some(frame)) if frame.code == 1011 && frame.reason.contains("handshake") => {
            close(4401, "Unauthorized")
        }
        other => other,
    }
}
