//! A graphql-transport-ws client over a real websocket, for subscription tests.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What a bounded wait saw.
#[derive(Debug)]
pub enum Seen {
    Json(Value),
    Closed(Option<u16>),
    Nothing,
}

/// Opens a socket speaking `protocol` (graphql-transport-ws or graphql-ws).
pub async fn connect(address: std::net::SocketAddr, protocol: &str) -> Socket {
    let mut req = format!("ws://{address}/graphql/ws")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
    let (socket, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("websocket opens");
    socket
}

pub async fn send(socket: &mut Socket, v: Value) {
    socket
        .send(Message::Text(v.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON message or close within `wait` (pings and pongs of the websocket are skipped).
pub async fn next(socket: &mut Socket, wait: Duration) -> Seen {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, socket.next()).await {
            Err(_) => return Seen::Nothing,
            Ok(None) => return Seen::Closed(None),
            Ok(Some(Err(_))) => return Seen::Closed(None),
            Ok(Some(Ok(Message::Text(t)))) => return Seen::Json(serde_json::from_str(&t).unwrap()),
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Seen::Closed(frame.map(|f| u16::from(f.code)))
            }
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// The next message of `type` (skipping protocol pings), or panics after `wait`.
pub async fn expect_type(socket: &mut Socket, kind: &str, wait: Duration) -> Value {
    loop {
        match next(socket, wait).await {
            Seen::Json(v) if v["type"] == kind => return v,
            Seen::Json(v) if v["type"] == "ping" || v["type"] == "ka" => continue,
            other => panic!("expected {kind}, saw {other:?}"),
        }
    }
}

/// A socket past `connection_ack` with `token`.
pub async fn authorised(address: std::net::SocketAddr, token: &str) -> Socket {
    let mut s = connect(address, "graphql-transport-ws").await;
    send(
        &mut s,
        json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}}),
    )
    .await;
    expect_type(&mut s, "connection_ack", Duration::from_secs(5)).await;
    s
}

/// Starts subscription `id` with `query`.
pub async fn subscribe(socket: &mut Socket, id: &str, query: &str, variables: Value) {
    send(
        socket,
        json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}),
    )
    .await;
}

/// Closes like a browser tab that goes away.
pub async fn drop_socket(mut socket: Socket) {
    let _ = socket
        .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: CloseCode::Away,
            reason: "".into(),
        }))
        .await;
}
