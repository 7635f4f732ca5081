//! A contact's channels (the Social tab) over HTTP: `firstSeenAt` is when the identity first
//! wrote in, `lastSeenAt` when the contact last wrote on that channel, each channel on its own;
//! and the read models they come from are rebuilt from the log identically.

use chrono::{DateTime, Duration, Utc};
use projections::replay::Mode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::app::{spawn_app, TestApp};
use crate::helpers::rebuild::rebuild_projection;

const CHANNELS: &str = "query($id: UUID!) { contact(id: $id) {
    channels { channel identifier firstSeenAt lastSeenAt } } }";

/// A gateway (integration token) of a new account with a default service.
async fn gateway(app: &TestApp) -> (String, Uuid) {
    let admin = app.admin().await;
    let (account, _) = app.account_with_service(&admin).await;
    let data = app
        .ok(
            Some(&admin),
            "mutation { createIntegrationToken(name: \"gateway\") }",
            json!({}),
        )
        .await;
    let token = data["createIntegrationToken"].as_str().unwrap().to_string();
    (token, account)
}

/// One customer message from `from` on `channel`, at the clock's time; returns the contact's id
/// (the mutation answers once both read models show the message).
async fn inbound(app: &TestApp, gateway: &str, account: Uuid, channel: &str, from: &str) -> Uuid {
    let d = app
        .ok(
            Some(gateway),
            "mutation($i: InboundMessageInput!) { receiveInboundMessage(input: $i) { contact { id } } }",
            json!({"i": {"accountId": account, "channel": channel, "from": from, "text": "oi"}}),
        )
        .await;
    d["receiveInboundMessage"]["contact"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("no time: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

/// (channel, firstSeenAt, lastSeenAt) of each of the contact's channels, as `token` sees them.
async fn channels(
    app: &TestApp,
    token: &str,
    id: Uuid,
) -> Vec<(String, DateTime<Utc>, DateTime<Utc>)> {
    let d = app.ok(Some(token), CHANNELS, json!({"id": id})).await;
    d["contact"]["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["channel"].as_str().unwrap().to_string(),
                time(&c["firstSeenAt"]),
                time(&c["lastSeenAt"]),
            )
        })
        .collect()
}

#[tokio::test]
async fn last_seen_is_the_latest_inbound_message_on_that_channel_and_first_seen_the_first() {
    let app = spawn_app().await;
    let (gateway, account) = gateway(&app).await;
    let admin = app.admin().await;
    let first = app.clock.now();
    let contact = inbound(&app, &gateway, account, "WHATSAPP", "+5511987654321").await;
    assert_eq!(
        channels(&app, &admin, contact).await,
        [("WHATSAPP".to_string(), first, first)]
    );

    app.clock.advance(Duration::minutes(10));
    let second = app.clock.now();
    assert_eq!(
        inbound(&app, &gateway, account, "WHATSAPP", "+5511987654321").await,
        contact
    );
    // The same phone on SMS is the same contact, and a channel of its own.
    app.clock.advance(Duration::minutes(5));
    let by_sms = app.clock.now();
    assert_eq!(
        inbound(&app, &gateway, account, "SMS", "+5511987654321").await,
        contact
    );
    let expected = [
        ("WHATSAPP".to_string(), first, second),
        ("SMS".to_string(), by_sms, by_sms),
    ];
    assert_eq!(channels(&app, &admin, contact).await, expected);

    // The read models rebuilt from the log hold the same rows (the last inbound times included).
    for projection in ["contacts", "attendances"] {
        let report = rebuild_projection(&app.db.pool, projection, Mode::Verify).await;
        assert!(report.differences.is_empty(), "{:#?}", report.differences);
    }
}
