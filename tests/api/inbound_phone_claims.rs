//! Inbound messages and the claims of phone routing keys, over HTTP: a claim left by a
//! registration that never committed never keeps a customer's message from being delivered.
//! Once stale (60 s) it is taken over and the message goes to a new contact, one for the phone
//! with or without the ninth digit, even when both write at once; while fresh, the registration may still commit: the message
//! waits for it and goes to its contact, or, when it does not commit within the wait, is refused
//! with a CONFLICT the gateway retries, creating nothing. A claim of a registered contact still
//! routes to it, however old.

use chrono::NaiveDate;
use commands::{Actor, CommandContext};
use domain::contact::{ContactCommand, ContactInput, PhoneInput, ReferenceCheck};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::app::{error_code, spawn_app, TestApp};

const INBOUND: &str = "mutation($i: InboundMessageInput!) {
    receiveInboundMessage(input: $i) { id contact { id name phone { e164 } } } }";

/// The routing key of +55 11 98765-4321 and of +55 11 8765-4321.
const KEY: &str = "551187654321";

/// Longer than a claim may stay without its holder routing by the key (60 s).
fn past_the_stale_claim_age() -> chrono::Duration {
    chrono::Duration::minutes(2)
}

/// A gateway (integration token) of a new account with a default service: (token, account,
/// service).
async fn gateway(app: &TestApp) -> (String, Uuid, Uuid) {
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let data = app
        .ok(
            Some(&admin),
            "mutation { createIntegrationToken(name: \"gateway\") }",
            json!({}),
        )
        .await;
    let token = data["createIntegrationToken"].as_str().unwrap().to_string();
    (token, account, service)
}

/// One WhatsApp message from `from`; returns the whole response.
async fn inbound(app: &TestApp, gateway: &str, account: Uuid, from: &str, ext: &str) -> Value {
    let input = json!({"accountId": account, "channel": "WHATSAPP", "from": from,
                       "contactName": "Maria", "text": "oi", "externalMessageId": ext});
    app.graphql(Some(gateway), INBOUND, json!({ "i": input }))
        .await
}

/// The contact a delivered message went to.
fn delivered_to(v: &Value) -> Uuid {
    assert!(v.get("errors").is_none(), "unexpected errors: {v:#}");
    v["data"]["receiveInboundMessage"]["contact"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A claim of `KEY` by a contact that has no events (a registration that crashed, or has not
/// committed yet), made at the clock's time; returns that contact's id.
async fn claim_without_contact(app: &TestApp, account: Uuid) -> Uuid {
    let ghost = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO contact_phone_keys (account_id, routing_key, contact_id, claimed_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(account)
    .bind(KEY)
    .bind(ghost)
    .bind(app.clock.now())
    .execute(&app.db.pool)
    .await
    .unwrap();
    ghost
}

async fn claim_of(app: &TestApp, account: Uuid) -> Option<Uuid> {
    sqlx::query_scalar(
        "SELECT contact_id FROM contact_phone_keys WHERE account_id = $1 AND routing_key = $2",
    )
    .bind(account)
    .bind(KEY)
    .fetch_optional(&app.db.pool)
    .await
    .unwrap()
}

/// The contacts with events (the test's database holds one account's).
async fn contacts_written(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(DISTINCT aggregate_id) FROM events WHERE aggregate_type = 'Contact'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_stale_claim_without_a_contact_is_taken_over_and_the_message_goes_to_a_new_contact() {
    let app = spawn_app().await;
    let (gateway, account, _) = gateway(&app).await;
    let ghost = claim_without_contact(&app, account).await;
    app.clock.advance(past_the_stale_claim_age());

    let v = inbound(&app, &gateway, account, "+5511987654321", "m1").await;
    let maria = delivered_to(&v);
    assert_ne!(maria, ghost);
    let contact = &v["data"]["receiveInboundMessage"]["contact"];
    assert_eq!(contact["name"], "Maria");
    assert_eq!(contact["phone"]["e164"], "+5511987654321");
    assert_eq!(claim_of(&app, account).await, Some(maria));

    // Without the ninth digit it is the same routing key, so the same contact.
    let v = inbound(&app, &gateway, account, "+551187654321", "m2").await;
    assert_eq!(delivered_to(&v), maria);
    assert_eq!(contacts_written(&app).await, 1);
}

#[tokio::test]
async fn concurrent_messages_with_and_without_the_ninth_digit_take_a_stale_claim_over_once() {
    let app = spawn_app().await;
    let (gateway, account, _) = gateway(&app).await;
    claim_without_contact(&app, account).await;
    app.clock.advance(past_the_stale_claim_age());

    let (nine, eight) = tokio::join!(
        inbound(&app, &gateway, account, "+5511987654321", "m1"),
        inbound(&app, &gateway, account, "+551187654321", "m2"),
    );
    let maria = delivered_to(&nine);
    assert_eq!(delivered_to(&eight), maria);
    assert_eq!(claim_of(&app, account).await, Some(maria));
    assert_eq!(contacts_written(&app).await, 1);
}

#[tokio::test]
async fn a_fresh_claim_without_a_contact_is_retried_and_delivered_once_stale() {
    let app = spawn_app().await;
    let (gateway, account, _) = gateway(&app).await;
    let ghost = claim_without_contact(&app, account).await;

    // The registration may still commit: nothing is created, the gateway is told to retry.
    let v = inbound(&app, &gateway, account, "+5511987654321", "m1").await;
    assert_eq!(error_code(&v), "CONFLICT", "{v:#}");
    assert_eq!(contacts_written(&app).await, 0);
    assert_eq!(claim_of(&app, account).await, Some(ghost));

    // The gateway's redelivery, once the claim is stale, is delivered.
    app.clock.advance(past_the_stale_claim_age());
    let v = inbound(&app, &gateway, account, "+5511987654321", "m1").await;
    let maria = delivered_to(&v);
    assert_ne!(maria, ghost);
    assert_eq!(claim_of(&app, account).await, Some(maria));
    assert_eq!(contacts_written(&app).await, 1);
}

#[tokio::test]
async fn a_fresh_claim_whose_registration_commits_meanwhile_routes_to_that_contact() {
    let app = spawn_app().await;
    let (gateway, account, _) = gateway(&app).await;
    let pending = claim_without_contact(&app, account).await;

    let message = {
        let (app_url, client) = (app.url("/graphql"), app.client.clone());
        let input = json!({"accountId": account, "channel": "WHATSAPP", "from": "+551187654321",
                           "text": "oi", "externalMessageId": "m1"});
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let response = client
                .post(app_url)
                .bearer_auth(gateway)
                .json(&json!({"query": INBOUND, "variables": {"i": input}}))
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()
        })
    };
    // The registration that claimed the phone writes its event a moment later.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let now = app.clock.now();
    let command = ContactCommand::RegisterContact {
        contact_id: pending,
        account_id: account,
        input: ana_with_the_phone(),
        refs: ReferenceCheck::found(),
        phone_taken_by: None,
        today: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
        at: now,
    };
    let ctx = CommandContext::new(Actor::System, "test", now);
    commands::store::execute(&app.state.commands().contacts, pending, command, &ctx)
        .await
        .expect("contact registered");

    let v = message.await.unwrap();
    assert_eq!(delivered_to(&v), pending);
    assert_eq!(v["data"]["receiveInboundMessage"]["contact"]["name"], "Ana");
    assert_eq!(contacts_written(&app).await, 1);
}

#[tokio::test]
async fn a_claim_of_a_registered_contact_routes_to_it_however_old() {
    let app = spawn_app().await;
    let (gateway, account, service) = gateway(&app).await;
    let (_, agent) = app.agent_in(service).await;
    let d = app
        .ok(
            Some(&agent),
            "mutation($i: RegisterContactInput!) { registerContact(input: $i) { id } }",
            json!({"i": {"accountId": account, "name": "Ana", "phone": {"ddi": "55", "number": "11987654321"}}}),
        )
        .await;
    let ana: Uuid = d["registerContact"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    app.clock.advance(past_the_stale_claim_age());

    let v = inbound(&app, &gateway, account, "+551187654321", "m1").await;
    assert_eq!(delivered_to(&v), ana);
    assert_eq!(v["data"]["receiveInboundMessage"]["contact"]["name"], "Ana");
    assert_eq!(claim_of(&app, account).await, Some(ana));
    assert_eq!(contacts_written(&app).await, 1);
}

/// Ana, routed by +55 11 98765-4321.
fn ana_with_the_phone() -> ContactInput {
    ContactInput {
        name: "Ana".into(),
        phone: Some(PhoneInput {
            ddi: "55".into(),
            number: "11987654321".into(),
        }),
        ..ContactInput::default()
    }
}
