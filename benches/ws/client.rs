//! The subscribers: N graphql-transport-ws sockets, one task each, as the frontends of agents
//! would hold them. Socket i authenticates as the agent owning target attendance i % T and
//! subscribes to its `messageAdded` (id "1"), plus the `--also` subscriptions of that agent;
//! it answers protocol pings and records the receipt time of each change it is sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{oneshot, watch, Semaphore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::driver::{change_of, Hist, Outcome, Target};

/// Handshakes in flight at once.
const CONNECTING: usize = 64;

/// Longest wait for one socket's handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A subscription a socket holds besides `messageAdded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extra {
    Pending,
    Counters,
    Updated,
}

impl Extra {
    pub fn field(self) -> &'static str {
        match self {
            Extra::Pending => "pendingAttendancesChanged",
            Extra::Counters => "countersChanged",
            Extra::Updated => "attendanceUpdated",
        }
    }

    fn query(self) -> &'static str {
        match self {
            Extra::Pending => {
                "subscription { pendingAttendancesChanged { kind pendingCount cursor attendance { id status } } }"
            }
            Extra::Counters => "subscription { countersChanged { day waiting inProgress today } }",
            Extra::Updated => "subscription { attendanceUpdated { kind cursor attendance { id status } } }",
        }
    }
}

const MESSAGE_ADDED: &str =
    "subscription($a: UUID!) { messageAdded(attendanceId: $a) { id text at } }";

/// What one socket saw.
#[derive(Default)]
struct Seen {
    /// (change, receipt µs).
    receipts: Vec<(u32, u64)>,
    other: u64,
    errors: u64,
    first_error: Option<String>,
    closed_early: bool,
}

struct Handle {
    target: usize,
    up: bool,
    task: tokio::task::JoinHandle<Seen>,
}

pub struct Fleet {
    clock: Instant,
    sockets: Vec<Handle>,
    stop: watch::Sender<bool>,
    received: Arc<AtomicU64>,
    targets: usize,
    pub failures: usize,
    pub first_error: Option<String>,
}

/// The deliveries of one level.
#[derive(Debug, Default)]
pub struct Deliveries {
    pub connected: usize,
    pub connect_failures: usize,
    pub first_connect_error: Option<String>,
    pub expected: u64,
    pub received: u64,
    pub missed: u64,
    pub duplicates: u64,
    pub other_messages: u64,
    pub subscription_errors: usize,
    pub first_subscription_error: Option<String>,
    pub closed_early: usize,
    pub from_send: Hist,
    pub from_commit: Hist,
}

impl Fleet {
    pub async fn connect(
        address: std::net::SocketAddr,
        n: usize,
        targets: &[Target],
        tokens: &[String],
        also: &[crate::client::Extra],
    ) -> Fleet {
        let clock = Instant::now();
        let (stop, stop_rx) = watch::channel(false);
        let received = Arc::new(AtomicU64::new(0));
        let gate = Arc::new(Semaphore::new(CONNECTING));
        let mut sockets = Vec::with_capacity(n);
        let mut ready = Vec::with_capacity(n);
        for i in 0..n {
            let t = i % targets.len();
            let target = targets[t].clone();
            let token = tokens[target.seat].clone();
            let also = also.to_vec();
            let (ready_tx, ready_rx) = oneshot::channel::<Result<(), String>>();
            let stop_rx = stop_rx.clone();
            let received = received.clone();
            let gate = gate.clone();
            let task = tokio::spawn(async move {
                let permit = gate.acquire_owned().await;
                let socket =
                    tokio::time::timeout(HANDSHAKE_TIMEOUT, open(address, &token, &target, &also))
                        .await
                        .map_err(|_| "handshake timed out".to_string())
                        .and_then(|r| r);
                drop(permit);
                match socket {
                    Ok(socket) => {
                        let _ = ready_tx.send(Ok(()));
                        listen(socket, clock, stop_rx, received).await
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        Seen {
                            closed_early: true,
                            ..Default::default()
                        }
                    }
                }
            });
            sockets.push(Handle {
                target: t,
                up: false,
                task,
            });
            ready.push(ready_rx);
        }
        let mut failures = 0;
        let mut first_error = None;
        for (r, h) in ready.into_iter().zip(sockets.iter_mut()) {
            match r.await {
                Ok(Ok(())) => h.up = true,
                Ok(Err(e)) => {
                    failures += 1;
                    first_error.get_or_insert(e);
                }
                Err(_) => {
                    failures += 1;
                    first_error.get_or_insert("socket task ended".into());
                }
            }
        }
        Fleet {
            clock,
            sockets,
            stop,
            received,
            targets: targets.len(),
            failures,
            first_error,
        }
    }

    pub fn connected(&self) -> usize {
        self.sockets.len() - self.failures
    }

    pub fn clock(&self) -> Instant {
        self.clock
    }

    /// Waits until every expected delivery came or `grace` passed, closes the sockets and
    /// matches receipts to changes.
    pub async fn finish(self, load: &Outcome, grace: Duration) -> Deliveries {
        // Sockets per target; a change is expected by every socket of its target that is up.
        let mut per_target = vec![0u64; self.targets];
        for h in self.sockets.iter().filter(|h| h.up) {
            per_target[h.target] += 1;
        }
        let expected_all: u64 = load
            .changes
            .iter()
            .filter(|c| c.ok)
            .map(|c| per_target[c.target])
            .sum();
        let until = Instant::now() + grace;
        while Instant::now() < until && self.received.load(Ordering::Relaxed) < expected_all {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.stop.send(true);
        let mut d = Deliveries {
            connect_failures: self.failures,
            first_connect_error: self.first_error.clone(),
            ..Default::default()
        };
        let mut seen_per_socket = Vec::with_capacity(self.sockets.len());
        for h in self.sockets {
            let seen = h.task.await.unwrap_or_default();
            seen_per_socket.push((h.target, h.up, seen));
        }
        let changes = &load.changes;
        for (target, up, seen) in seen_per_socket {
            if up {
                d.connected += 1;
            }
            d.other_messages += seen.other;
            d.subscription_errors += seen.errors as usize;
            if d.first_subscription_error.is_none() {
                d.first_subscription_error = seen.first_error.clone();
            }
            if seen.closed_early && up {
                d.closed_early += 1;
            }
            let mut got = std::collections::HashSet::new();
            for (k, at) in seen.receipts {
                let Some(c) = changes.get(k as usize) else {
                    continue;
                };
                if !got.insert(k) {
                    d.duplicates += 1;
                    continue;
                }
                d.received += 1;
                d.from_send.0.push((at as f64 - c.sent_us as f64) / 1000.0);
                d.from_commit
                    .0
                    .push((at as f64 - c.done_us as f64) / 1000.0);
            }
            if up {
                let expected = changes
                    .iter()
                    .filter(|c| c.ok && c.target == target)
                    .count() as u64;
                d.expected += expected;
                d.missed += expected.saturating_sub(got.len() as u64);
            }
        }
        d.from_send.sort();
        d.from_commit.sort();
        d
    }
}

async fn open(
    address: std::net::SocketAddr,
    token: &str,
    target: &Target,
    also: &[Extra],
) -> Result<Socket, String> {
    let mut req = format!("ws://{address}/graphql/ws")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    // Small buffers on the client too: 10,000 sockets in this process.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(req, Some(config), true)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    send(
        &mut socket,
        json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}}),
    )
    .await?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).map_err(|e| e.to_string())?;
                match v["type"].as_str() {
                    Some("connection_ack") => break,
                    Some("ping") => send(&mut socket, json!({"type": "pong"})).await?,
                    _ => return Err(format!("before the ack: {v}")),
                }
            }
            Some(Ok(Message::Close(f))) => return Err(format!("closed before the ack: {f:?}")),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("before the ack: {e}")),
            None => return Err("closed before the ack".into()),
        }
    }
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe",
               "payload": {"query": MESSAGE_ADDED, "variables": {"a": target.attendance}}}),
    )
    .await?;
    for (i, e) in also.iter().enumerate() {
        send(
            &mut socket,
            json!({"id": (i + 2).to_string(), "type": "subscribe", "payload": {"query": e.query()}}),
        )
        .await?;
    }
    Ok(socket)
}

async fn send(socket: &mut Socket, v: Value) -> Result<(), String> {
    socket
        .send(Message::Text(v.to_string().into()))
        .await
        .map_err(|e| format!("send: {e}"))
}

async fn listen(
    mut socket: Socket,
    clock: Instant,
    mut stop: watch::Receiver<bool>,
    received: Arc<AtomicU64>,
) -> Seen {
    let mut seen = Seen::default();
    loop {
        if *stop.borrow() {
            let _ = socket.close(None).await;
            return seen;
        }
        tokio::select! {
            _ = stop.changed() => continue,
            msg = socket.next() => {
                let at = clock.elapsed().as_micros() as u64;
                match msg {
                    Some(Ok(Message::Text(t))) => {
                        let Ok(v) = serde_json::from_str::<Value>(&t) else { continue };
                        match v["type"].as_str() {
                            Some("next") if v["id"] == "1" => {
                                match v["payload"]["data"]["messageAdded"]["text"].as_str().and_then(change_of) {
                                    Some(k) => {
                                        seen.receipts.push((k as u32, at));
                                        received.fetch_add(1, Ordering::Relaxed);
                                    }
                                    None => seen.other += 1,
                                }
                            }
                            Some("next") => seen.other += 1,
                            Some("ping") => {
                                let _ = send(&mut socket, json!({"type": "pong"})).await;
                            }
                            Some("error") => {
                                seen.errors += 1;
                                seen.first_error.get_or_insert(v.to_string());
                            }
                            _ => {}
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        seen.closed_early = true;
                        // Wait for the stop anyway, so the socket's figures are joined in order.
                        let _ = stop.wait_for(|v| *v).await;
                        return seen;
                    }
                    Some(Ok(_)) => {}
                }
            }
        }
    }
}
