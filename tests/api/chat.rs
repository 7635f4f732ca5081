//! Chat between agents (item 8) over real HTTP and real websockets: sending, the notification
//! (live, replayed after `since`, across instances), the chat list and unread counts, marking
//! read, paging back in time, privacy, limits, and attachments with signed URLs that expire and
//! die with their message.

use std::time::Duration;

use commands::{Actor, CommandContext};
use domain::kinds::Role;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::app::{error_code, spawn_app, spawn_second, TestApp};
use crate::helpers::upload::{multipart, FilePart};
use crate::helpers::ws::{self, Seen};

const WAIT: Duration = Duration::from_secs(5);

const SEND: &str = "mutation($to: UUID!, $text: String) { sendAgentChatMessage(toAgentId: $to, text: $text) { id text at from { id } to { id } } }";

const RECEIVED: &str = "subscription($since: UUID) { agentChatMessageReceived(since: $since) { id text from { id } to { id } attachments { id fileName contentType size url } } }";

/// A tiny PNG's first bytes: enough for the server to recognise an image by content.
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

struct Agents {
    a: (Uuid, String),
    b: (Uuid, String),
    c: (Uuid, String),
}

async fn three_agents(app: &TestApp) -> Agents {
    let admin = app.admin().await;
    let (_, service) = app.account_with_service(&admin).await;
    Agents {
        a: app.agent_in(service).await,
        b: app.agent_in(service).await,
        c: app.agent_in(service).await,
    }
}

async fn send(app: &TestApp, token: &str, to: Uuid, text: &str) -> Value {
    app.ok(Some(token), SEND, json!({"to": to, "text": text}))
        .await["sendAgentChatMessage"]
        .clone()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The next `next` payload of the subscription, or panics.
async fn received(socket: &mut ws::Socket) -> Value {
    let v = ws::expect_type(socket, "next", WAIT).await;
    assert!(
        v["payload"].get("errors").is_none(),
        "subscription errors: {v:#}"
    );
    v["payload"]["data"]["agentChatMessageReceived"].clone()
}

/// A subscription of `token` on `app`, replaying after `since`.
async fn subscribed(app: &TestApp, token: &str, since: Option<&str>) -> ws::Socket {
    let mut socket = ws::authorised(app.address, token).await;
    ws::subscribe(&mut socket, "chat", RECEIVED, json!({"since": since})).await;
    socket
}

/// Sends a message with `files` as (name, claimed type, bytes), uploaded as multipart.
async fn send_files(
    app: &TestApp,
    token: &str,
    to: Uuid,
    text: Option<&str>,
    files: &[(&str, &str, &[u8])],
) -> Value {
    let variables: Vec<String> = (0..files.len()).map(|i| format!("files.{i}")).collect();
    let parts: Vec<FilePart> = files
        .iter()
        .zip(&variables)
        .map(|((name, claimed_type, bytes), variable)| FilePart {
            variable,
            name,
            claimed_type,
            bytes,
        })
        .collect();
    multipart(
        app,
        token,
        "mutation($to: UUID!, $text: String, $files: [Upload!]) { sendAgentChatMessage(toAgentId: $to, text: $text, attachments: $files) { id text attachments { id fileName contentType size url } } }",
        json!({"to": to, "text": text, "files": vec![Value::Null; files.len()]}),
        &parts,
    )
    .await
}

#[tokio::test]
async fn a_message_reaches_its_recipient_over_the_websocket_and_nobody_else() {
    let app = spawn_app().await;
    let Agents { a, b, c } = three_agents(&app).await;
    let mut to_b = subscribed(&app, &b.1, None).await;
    let mut to_c = subscribed(&app, &c.1, None).await;
    // No acknowledgement exists for a subscribe: give the server a moment to start it.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let sent = send(&app, &a.1, b.0, "  oi, tudo bem?  ").await;
    assert_eq!(sent["text"], "oi, tudo bem?");

    let got = received(&mut to_b).await;
    assert_eq!(got["id"], sent["id"]);
    assert_eq!(got["text"], "oi, tudo bem?");
    assert_eq!(got["from"]["id"], a.0.to_string());
    assert_eq!(got["to"]["id"], b.0.to_string());
    if let Seen::Json(v) = ws::next(&mut to_c, Duration::from_millis(500)).await {
        assert_ne!(
            v["type"], "next",
            "a third agent must not be notified: {v:#}"
        );
    }
}

#[tokio::test]
async fn the_chat_list_counts_unread_messages_and_mark_read_returns_how_many_were_unread() {
    let app = spawn_app().await;
    let Agents { a, b, c } = three_agents(&app).await;
    send(&app, &a.1, b.0, "one").await;
    send(&app, &a.1, b.0, "two").await;
    send(&app, &b.1, a.0, "reply").await;
    app.clock.advance(chrono::Duration::minutes(1));
    let newest = send(&app, &c.1, b.0, "from c").await;

    let q = "{ agentChats { withAgent { id } unreadCount lastMessage { id text } } }";
    let chats = app.ok(Some(&b.1), q, json!({})).await["agentChats"].clone();
    assert_eq!(chats.as_array().unwrap().len(), 2, "{chats:#}");
    assert_eq!(
        chats[0]["withAgent"]["id"],
        c.0.to_string(),
        "newest conversation first"
    );
    assert_eq!(chats[0]["lastMessage"]["id"], newest["id"]);
    assert_eq!(chats[0]["unreadCount"], 1);
    assert_eq!(chats[1]["withAgent"]["id"], a.0.to_string());
    assert_eq!(chats[1]["lastMessage"]["text"], "reply");
    assert_eq!(chats[1]["unreadCount"], 2);
    // A's side: B's reply is unread, A's own messages never count.
    let chats_a = app.ok(Some(&a.1), q, json!({})).await["agentChats"].clone();
    assert_eq!(chats_a[0]["unreadCount"], 1);

    let mark = "mutation($w: UUID!) { markAgentChatRead(withAgentId: $w) }";
    assert_eq!(
        app.ok(Some(&b.1), mark, json!({"w": a.0})).await["markAgentChatRead"],
        2
    );
    assert_eq!(
        app.ok(Some(&b.1), mark, json!({"w": a.0})).await["markAgentChatRead"],
        0
    );
    let chats = app.ok(Some(&b.1), q, json!({})).await["agentChats"].clone();
    assert_eq!(chats[1]["unreadCount"], 0);
    assert_eq!(chats[0]["unreadCount"], 1, "only that conversation is read");

    let msgs = app
        .ok(
            Some(&b.1),
            "query($w: UUID!) { agentChatMessages(withAgentId: $w) { nodes { text readAt } } }",
            json!({"w": a.0}),
        )
        .await;
    let nodes = msgs["agentChatMessages"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(nodes[0]["text"], "reply");
    assert!(nodes[0]["readAt"].is_null(), "A has not read B's reply");
    assert!(nodes[1]["readAt"].is_string());
}

#[tokio::test]
async fn messages_page_back_in_time_newest_first() {
    let app = spawn_app().await;
    let Agents { a, b, .. } = three_agents(&app).await;
    for i in 1..=5 {
        let (from, to) = if i % 2 == 0 { (&b, &a) } else { (&a, &b) };
        send(&app, &from.1, to.0, &format!("m{i}")).await;
    }
    let q = "query($w: UUID!, $before: String) { agentChatMessages(withAgentId: $w, first: 2, before: $before) { totalCount nodes { text } pageInfo { hasNextPage hasPreviousPage endCursor } } }";
    let mut texts = Vec::new();
    let mut before = Value::Null;
    loop {
        let page = app
            .ok(Some(&a.1), q, json!({"w": b.0, "before": before}))
            .await["agentChatMessages"]
            .clone();
        assert_eq!(page["totalCount"], 5);
        assert_eq!(page["pageInfo"]["hasPreviousPage"], !before.is_null());
        texts.extend(
            page["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["text"].as_str().unwrap().to_string()),
        );
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        before = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(texts, ["m5", "m4", "m3", "m2", "m1"]);
    // B sees the same conversation.
    let page = app
        .ok(Some(&b.1), q, json!({"w": a.0, "before": null}))
        .await;
    assert_eq!(page["agentChatMessages"]["nodes"][0]["text"], "m5");

    let too_many = app
        .graphql(
            Some(&a.1),
            "query($w: UUID!) { agentChatMessages(withAgentId: $w, first: 201) { totalCount } }",
            json!({"w": b.0}),
        )
        .await;
    assert_eq!(error_code(&too_many), "LIMIT_EXCEEDED");
}

#[tokio::test]
async fn a_third_agent_cannot_see_the_conversation() {
    let app = spawn_app().await;
    let Agents { a, b, c } = three_agents(&app).await;
    let sent = send(&app, &a.1, b.0, "just between us").await;

    let q = "query($w: UUID!) { agentChatMessages(withAgentId: $w) { totalCount nodes { id } } }";
    for with in [a.0, b.0] {
        let page = app.ok(Some(&c.1), q, json!({"w": with})).await;
        assert_eq!(page["agentChatMessages"]["totalCount"], 0);
    }
    assert_eq!(
        app.ok(Some(&c.1), "{ agentChats { unreadCount } }", json!({}))
            .await["agentChats"],
        json!([])
    );
    let mark = app
        .ok(
            Some(&c.1),
            "mutation($w: UUID!) { markAgentChatRead(withAgentId: $w) }",
            json!({"w": a.0}),
        )
        .await;
    assert_eq!(mark["markAgentChatRead"], 0);
    let delete = app
        .graphql(
            Some(&c.1),
            "mutation($id: UUID!) { deleteAgentChatMessage(id: $id) }",
            json!({"id": sent["id"]}),
        )
        .await;
    assert_eq!(error_code(&delete), "NOT_FOUND");
    // Naming someone else's message as `since` reveals nothing either.
    let mut socket = subscribed(&app, &c.1, Some(&id_of(&sent))).await;
    let refused = ws::expect_type(&mut socket, "next", WAIT).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused:#}"
    );
    assert!(refused["payload"]["data"].is_null());
    // Without a token there is no chat at all.
    assert_eq!(
        error_code(
            &app.graphql(None, "{ agentChats { unreadCount } }", json!({}))
                .await
        ),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn a_message_needs_text_or_files_and_another_active_agent() {
    let app = spawn_app().await;
    let Agents { a, b, .. } = three_agents(&app).await;
    let bad = |to: Uuid, text: Value| {
        let app = &app;
        let token = a.1.clone();
        async move {
            app.graphql(Some(&token), SEND, json!({"to": to, "text": text}))
                .await
        }
    };
    let empty = bad(b.0, Value::Null).await;
    assert_eq!(error_code(&empty), "VALIDATION");
    assert_eq!(
        empty["errors"][0]["extensions"]["fields"][0]["field"],
        "text"
    );
    assert_eq!(error_code(&bad(b.0, json!("   ")).await), "VALIDATION");
    assert_eq!(
        error_code(&bad(b.0, json!("x".repeat(4097))).await),
        "VALIDATION"
    );
    assert!(bad(b.0, json!("x".repeat(4096)))
        .await
        .get("errors")
        .is_none());
    let to_self = bad(a.0, json!("hi me")).await;
    assert_eq!(error_code(&to_self), "VALIDATION");
    assert_eq!(
        to_self["errors"][0]["extensions"]["fields"][0]["field"],
        "toAgentId"
    );
    assert_eq!(
        error_code(&bad(Uuid::new_v4(), json!("anyone?")).await),
        "VALIDATION"
    );

    // A deactivated agent cannot be written to.
    let admin = app.admin().await;
    app.ok(
        Some(&admin),
        "mutation($id: UUID!) { updateAgent(id: $id, input: {active: false}) { id } }",
        json!({"id": b.0}),
    )
    .await;
    app.state
        .projector()
        .wait_for_stream("Agent", &b.0.to_string())
        .await
        .unwrap();
    assert_eq!(
        error_code(&bad(b.0, json!("still there?")).await),
        "VALIDATION"
    );
}

#[tokio::test]
async fn more_than_ten_files_exceed_the_limit() {
    let app = spawn_app().await;
    let Agents { a, b, .. } = three_agents(&app).await;
    let files: Vec<(&str, &str, &[u8])> = (0..11)
        .map(|_| ("a.txt", "text/plain", b"x".as_slice()))
        .collect();
    let res = send_files(&app, &a.1, b.0, None, &files).await;
    assert_eq!(error_code(&res), "LIMIT_EXCEEDED", "{res:#}");
    let res = send_files(&app, &a.1, b.0, None, &files[..10]).await;
    assert!(res.get("errors").is_none(), "{res:#}");
    assert_eq!(
        res["data"]["sendAgentChatMessage"]["attachments"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
}

#[tokio::test]
async fn an_image_attachment_is_pushed_served_by_a_signed_url_and_refused_after_expiry_or_deletion()
{
    let app = spawn_app().await;
    let Agents { a, b, .. } = three_agents(&app).await;
    let hello = send(&app, &a.1, b.0, "look at this").await;
    let mut to_b = subscribed(&app, &b.1, Some(&id_of(&hello))).await;

    // The client claims text; the bytes say PNG. The path part of the name is dropped.
    let res = send_files(
        &app,
        &a.1,
        b.0,
        None,
        &[
            ("C:\\shots\\screen.png", "text/plain", PNG),
            ("notes.pdf", "image/png", b"%PDF-1.7 ..."),
        ],
    )
    .await;
    assert!(res.get("errors").is_none(), "{res:#}");
    let sent = res["data"]["sendAgentChatMessage"].clone();
    assert!(sent["text"].is_null());

    let got = received(&mut to_b).await;
    assert_eq!(got["id"], sent["id"]);
    let image = got["attachments"][0].clone();
    assert_eq!(image["fileName"], "screen.png");
    assert_eq!(image["contentType"], "image/png");
    assert_eq!(image["size"], PNG.len());
    let pdf = got["attachments"][1].clone();
    assert_eq!(pdf["contentType"], "application/pdf");

    // Loadable like an <img>: no header.
    let url = app.url(image["url"].as_str().unwrap());
    let res = reqwest::get(&url).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("inline"));
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
    let res = reqwest::get(app.url(pdf["url"].as_str().unwrap()))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));

    // A forged signature is refused.
    let forged = url.replace("sig=", "sig=00");
    assert_eq!(reqwest::get(&forged).await.unwrap().status(), 403);

    // Past its TTL the URL is refused; a fresh one (read again) works.
    app.clock
        .advance(chrono::Duration::hours(1) + chrono::Duration::seconds(1));
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 403);
    let q = "query($w: UUID!) { agentChatMessages(withAgentId: $w, first: 1) { nodes { id attachments { url } } } }";
    let page = app.ok(Some(&b.1), q, json!({"w": a.0})).await;
    let fresh = app.url(
        page["agentChatMessages"]["nodes"][0]["attachments"][0]["url"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(reqwest::get(&fresh).await.unwrap().status(), 200);

    // Only the sender may delete it; then the URL handed out before is refused.
    let delete = "mutation($id: UUID!) { deleteAgentChatMessage(id: $id) }";
    assert_eq!(
        error_code(
            &app.graphql(Some(&b.1), delete, json!({"id": sent["id"]}))
                .await
        ),
        "FORBIDDEN"
    );
    let ctx = CommandContext::new(
        Actor::Agent {
            id: a.0,
            role: Role::Agent,
            session_id: None,
        },
        "test",
        app.clock.now(),
    );
    let id: Uuid = id_of(&sent).parse().unwrap();
    commands::chat::delete::delete_message(&app.db.pool, &ctx, id)
        .await
        .unwrap();
    assert_eq!(reqwest::get(&fresh).await.unwrap().status(), 403);
    // ... and the message is gone from both sides.
    let page = app.ok(Some(&b.1), q, json!({"w": a.0})).await;
    assert_eq!(page["agentChatMessages"]["nodes"][0]["id"], hello["id"]);
    // The same content attached to another message still downloads.
    let again = send_files(
        &app,
        &a.1,
        b.0,
        Some("again"),
        &[("screen.png", "image/png", PNG)],
    )
    .await;
    let url = app.url(
        again["data"]["sendAgentChatMessage"]["attachments"][0]["url"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
}

#[tokio::test]
async fn since_replays_the_missed_messages_in_order_then_goes_live() {
    let app = spawn_app().await;
    let Agents { a, b, c } = three_agents(&app).await;
    let seen = send(&app, &a.1, b.0, "seen").await;
    let m1 = send(&app, &a.1, b.0, "missed 1").await;
    send(&app, &b.1, a.0, "mine, not replayed").await;
    let m2 = send(&app, &c.1, b.0, "missed 2").await;
    let deleted = send(&app, &a.1, b.0, "deleted").await;
    let ctx = CommandContext::new(
        Actor::Agent {
            id: a.0,
            role: Role::Agent,
            session_id: None,
        },
        "test",
        app.clock.now(),
    );
    commands::chat::delete::delete_message(&app.db.pool, &ctx, id_of(&deleted).parse().unwrap())
        .await
        .unwrap();
    let m3 = send(&app, &a.1, b.0, "missed 3").await;

    let mut to_b = subscribed(&app, &b.1, Some(&id_of(&seen))).await;
    for expected in [&m1, &m2, &m3] {
        assert_eq!(received(&mut to_b).await["id"], expected["id"]);
    }
    let live = send(&app, &c.1, b.0, "live").await;
    assert_eq!(received(&mut to_b).await["id"], live["id"]);
    match ws::next(&mut to_b, Duration::from_millis(300)).await {
        Seen::Json(v) => assert_ne!(v["type"], "next", "nothing twice: {v:#}"),
        Seen::Nothing => {}
        Seen::Closed(code) => panic!("closed: {code:?}"),
    }
}

#[tokio::test]
async fn a_message_sent_on_one_instance_reaches_a_subscriber_on_another() {
    let app = spawn_app().await;
    let second = spawn_second(&app).await;
    let Agents { a, b, .. } = three_agents(&app).await;
    let first = send(&app, &a.1, b.0, "first").await;
    let mut to_b = subscribed(&second, &b.1, Some(&id_of(&first))).await;
    let sent = send(&app, &a.1, b.0, "across instances").await;
    let got = received(&mut to_b).await;
    assert_eq!(got["id"], sent["id"]);
    assert_eq!(got["text"], "across instances");
}

#[tokio::test]
async fn a_file_over_20_mib_exceeds_the_limit() {
    let app = spawn_app().await;
    let Agents { a, b, .. } = three_agents(&app).await;
    let big = vec![0u8; domain::chat::ATTACHMENT_MAX_BYTES + 1];
    let res = send_files(
        &app,
        &a.1,
        b.0,
        Some("big"),
        &[("big.bin", "application/octet-stream", &big)],
    )
    .await;
    assert_eq!(error_code(&res), "LIMIT_EXCEEDED", "{res:#}");
}
