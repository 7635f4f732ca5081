//! Real time over real websockets: the handshake and its refusals, server pings, the live
//! connection indicator across instances, presenceChanged, and sockets closed when their
//! session ends.

use std::time::Duration;

use serde_json::json;

use crate::helpers::app::{spawn_app, spawn_second};
use crate::helpers::ws::{self, Seen};

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_missing_or_bad_token_closes_the_socket_with_4403() {
    let app = spawn_app().await;
    let mut s = ws::connect(app.address, "graphql-transport-ws").await;
    ws::send(&mut s, json!({"type": "connection_init", "payload": {}})).await;
    assert!(matches!(
        ws::next(&mut s, 5 * SECOND).await,
        Seen::Closed(Some(4403))
    ));
    let mut s = ws::connect(app.address, "graphql-transport-ws").await;
    ws::send(
        &mut s,
        json!({"type": "connection_init", "payload": {"authorization": "Bearer nope"}}),
    )
    .await;
    assert!(matches!(
        ws::next(&mut s, 5 * SECOND).await,
        Seen::Closed(Some(4403))
    ));
}

#[tokio::test]
async fn subscribing_before_the_handshake_closes_with_4401() {
    let app = spawn_app().await;
    let mut s = ws::connect(app.address, "graphql-transport-ws").await;
    ws::subscribe(
        &mut s,
        "1",
        "subscription { presenceChanged { id } }",
        json!({}),
    )
    .await;
    assert!(matches!(
        ws::next(&mut s, 5 * SECOND).await,
        Seen::Closed(Some(4401))
    ));
}

#[tokio::test]
async fn the_server_pings_so_a_client_can_tell_the_connection_is_alive() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut s = ws::authorised(app.address, &admin).await;
    match ws::next(&mut s, 15 * SECOND).await {
        Seen::Json(v) => assert_eq!(v["type"], "ping"),
        other => panic!("expected a ping, saw {other:?}"),
    }
}

#[tokio::test]
async fn connected_is_true_on_every_instance_while_a_socket_is_open_and_presence_is_pushed() {
    let app = spawn_app().await;
    let second = spawn_second(&app).await;
    let admin = app.admin().await;
    let (_, service) = app.account_with_service(&admin).await;
    let (agent_id, agent) = app.agent_in(service).await;
    // A watcher on the second instance.
    let mut watcher = ws::authorised(second.address, &admin).await;
    ws::subscribe(
        &mut watcher,
        "p",
        "subscription { presenceChanged { id connected } }",
        json!({}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let q = "query { me { connected } }";
    assert_eq!(
        second.ok(Some(&agent), q, json!({})).await["me"]["connected"],
        false
    );
    let socket = ws::authorised(app.address, &agent).await;
    assert_eq!(
        second.ok(Some(&agent), q, json!({})).await["me"]["connected"],
        true
    );
    let pushed = presence_of(&mut watcher, agent_id, true).await;
    assert_eq!(pushed["connected"], true);

    ws::drop_socket(socket).await;
    let mut flipped = false;
    for _ in 0..50 {
        if second.ok(Some(&agent), q, json!({})).await["me"]["connected"] == false {
            flipped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(flipped, "connected must turn false when the socket closes");
    let pushed = presence_of(&mut watcher, agent_id, false).await;
    assert_eq!(pushed["connected"], false);
}

/// The next presence change of `agent` with `connected` (others' changes are skipped).
async fn presence_of(
    watcher: &mut ws::Socket,
    agent: uuid::Uuid,
    connected: bool,
) -> serde_json::Value {
    for _ in 0..20 {
        let v = ws::expect_type(watcher, "next", 5 * SECOND).await;
        let p = v["payload"]["data"]["presenceChanged"].clone();
        if p["id"] == agent.to_string() && p["connected"] == connected {
            return p;
        }
    }
    panic!("no presence change of {agent} to connected={connected}");
}

#[tokio::test]
async fn logging_out_closes_the_sessions_sockets() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut s = ws::authorised(app.address, &admin).await;
    app.ok(Some(&admin), "mutation { logout }", json!({})).await;
    let mut closed = None;
    for _ in 0..3 {
        match ws::next(&mut s, 5 * SECOND).await {
            Seen::Closed(code) => {
                closed = Some(code);
                break;
            }
            _ => continue,
        }
    }
    assert_eq!(closed, Some(Some(4403)));
}
