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
    tokio::time::sleep(Duration::from_millis(1000)).await;

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

/// An account, a service, and two agents of it: (app, second instance, admin, account, service).
async fn two_instances() -> (
    crate::helpers::app::TestApp,
    crate::helpers::app::TestApp,
    String,
    uuid::Uuid,
    uuid::Uuid,
) {
    let app = spawn_app().await;
    let second = spawn_second(&app).await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    (app, second, admin, account, service)
}

/// An IN_PROGRESS attendance of the agent with `token`, opened through `app`.
async fn taken(
    app: &crate::helpers::app::TestApp,
    token: &str,
    account: uuid::Uuid,
    service: uuid::Uuid,
    number: &str,
) -> String {
    let c = app
        .ok(
            Some(token),
            "mutation($i: RegisterContactInput!) { registerContact(input: $i) { id } }",
            json!({"i": {"accountId": account, "name": "Cliente", "phone": {"ddi": "55", "number": number}}}),
        )
        .await;
    let contact = c["registerContact"]["id"].clone();
    let d = app
        .ok(
            Some(token),
            "mutation($i: OpenOutboundAttendanceInput!) { openOutboundAttendance(input: $i) { id status } }",
            json!({"i": {"accountId": account, "contactId": contact, "channel": "WHATSAPP", "destinationType": "SERVICE",
                         "serviceId": service, "message": {"text": "Olá"}}}),
        )
        .await;
    assert_eq!(d["openOutboundAttendance"]["status"], "IN_PROGRESS");
    d["openOutboundAttendance"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

const PENDING_SUB: &str =
    "subscription($s: String) { pendingAttendancesChanged(since: $s) { kind pendingCount cursor attendance { id status } } }";

#[tokio::test]
async fn an_agent_receives_its_own_pending_changes_across_instances_and_not_anothers() {
    let (app, second, _admin, account, service) = two_instances().await;
    let (_, alice) = app.agent_in(service).await;
    let (_, bob) = app.agent_in(service).await;
    let attendance = taken(&app, &alice, account, service, "11987650001").await;

    let mut alice_ws = ws::authorised(second.address, &alice).await;
    ws::subscribe(&mut alice_ws, "p", PENDING_SUB, json!({})).await;
    let mut bob_ws = ws::authorised(second.address, &bob).await;
    ws::subscribe(&mut bob_ws, "p", PENDING_SUB, json!({})).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;

    app.ok(
        Some(&alice),
        "mutation($id: UUID!) { markPending(attendanceId: $id) { status } }",
        json!({"id": attendance}),
    )
    .await;
    let change = ws::expect_type(&mut alice_ws, "next", 5 * SECOND).await;
    let c = &change["payload"]["data"]["pendingAttendancesChanged"];
    assert_eq!(c["kind"], "UPSERT");
    assert_eq!(c["pendingCount"], 1);
    assert_eq!(c["attendance"]["id"], attendance);
    assert_eq!(c["attendance"]["status"], "PENDING");
    // Bob sees nothing of Alice's list.
    match ws::next(&mut bob_ws, SECOND).await {
        Seen::Json(v) if v["type"] == "next" => panic!("bob received {v}"),
        _ => {}
    }
}

#[tokio::test]
async fn a_reconnecting_agent_first_receives_every_change_it_missed_in_order() {
    let (app, _second, _admin, account, service) = two_instances().await;
    let (_, alice) = app.agent_in(service).await;
    let attendance = taken(&app, &alice, account, service, "11987650002").await;
    let mut s = ws::authorised(app.address, &alice).await;
    ws::subscribe(&mut s, "p", PENDING_SUB, json!({})).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    app.ok(
        Some(&alice),
        "mutation($id: UUID!) { markPending(attendanceId: $id) { status } }",
        json!({"id": attendance}),
    )
    .await;
    let first = ws::expect_type(&mut s, "next", 5 * SECOND).await;
    let cursor = first["payload"]["data"]["pendingAttendancesChanged"]["cursor"]
        .as_str()
        .unwrap()
        .to_string();
    ws::drop_socket(s).await;

    // While disconnected: rescued (leaves the list), parked again (enters it).
    app.ok(
        Some(&alice),
        "mutation($id: UUID!) { rescueAttendance(attendanceId: $id) { status } }",
        json!({"id": attendance}),
    )
    .await;
    app.ok(
        Some(&alice),
        "mutation($id: UUID!) { markPending(attendanceId: $id) { status } }",
        json!({"id": attendance}),
    )
    .await;

    let mut s = ws::authorised(app.address, &alice).await;
    ws::subscribe(&mut s, "p", PENDING_SUB, json!({"s": cursor})).await;
    let a = ws::expect_type(&mut s, "next", 5 * SECOND).await;
    let b = ws::expect_type(&mut s, "next", 5 * SECOND).await;
    let kinds: Vec<_> = [a, b]
        .iter()
        .map(|v| v["payload"]["data"]["pendingAttendancesChanged"]["kind"].clone())
        .collect();
    assert_eq!(kinds, vec![json!("REMOVE"), json!("UPSERT")]);
    // A cursor that is not ours gets one RESYNC.
    let mut s = ws::authorised(app.address, &alice).await;
    ws::subscribe(&mut s, "p", PENDING_SUB, json!({"s": "garbage"})).await;
    let r = ws::expect_type(&mut s, "next", 5 * SECOND).await;
    assert_eq!(
        r["payload"]["data"]["pendingAttendancesChanged"]["kind"],
        "RESYNC"
    );
}

#[tokio::test]
async fn a_message_sent_through_one_instance_reaches_a_subscriber_on_the_other() {
    let (app, second, _admin, account, service) = two_instances().await;
    let (_, alice) = app.agent_in(service).await;
    let attendance = taken(&app, &alice, account, service, "11987650003").await;
    // Subscribe from the opening message on: whatever is sent meanwhile is replayed, so the
    // test does not depend on when the server starts the live stream.
    let first = app
        .ok(
            Some(&alice),
            "query($a: UUID!) { attendance(id: $a) { messages { nodes { id } } } }",
            json!({"a": attendance}),
        )
        .await;
    let opening = first["attendance"]["messages"]["nodes"][0]["id"].clone();
    let mut s = ws::authorised(second.address, &alice).await;
    ws::subscribe(
        &mut s,
        "m",
        "subscription($a: UUID!, $s: UUID) { messageAdded(attendanceId: $a, since: $s) { id text author } }",
        json!({"a": attendance, "s": opening}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    app.ok(
        Some(&alice),
        "mutation($a: UUID!) { sendMessage(attendanceId: $a, input: {text: \"Tudo bem?\"}) { id } }",
        json!({"a": attendance}),
    )
    .await;
    let m = ws::expect_type(&mut s, "next", 5 * SECOND).await;
    assert_eq!(m["payload"]["data"]["messageAdded"]["text"], "Tudo bem?");
    assert_eq!(m["payload"]["data"]["messageAdded"]["author"], "AGENT");
}

/// The sockets of an instance that stopped beating (it died) no longer count as connected.
#[tokio::test]
async fn sockets_of_an_instance_that_stopped_beating_do_not_count() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    let q = "query { me { connected } }";
    let _socket = ws::authorised(app.address, &agent).await;
    assert_eq!(
        app.ok(Some(&agent), q, json!({})).await["me"]["connected"],
        true
    );
    sqlx::query("UPDATE ws_instances SET heartbeat_at = now() - interval '1 minute'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        app.ok(Some(&agent), q, json!({})).await["me"]["connected"],
        false
    );
}
