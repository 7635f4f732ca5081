//! The phone routing key over HTTP: updating a contact to a phone another contact of the account
//! routes by is CONFLICT (with or without the ninth digit; other accounts are free), and the
//! claims behind it rest on the event store, never on the contacts read model: a claim of a
//! registered contact is never taken over, even when its read-model row is missing or stale,
//! while a stale claim of a registration that never committed is.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::app::{error_code, spawn_app, TestApp};

const REGISTER: &str = "mutation($i: RegisterContactInput!) { registerContact(input: $i) { id } }";

const UPDATE: &str = "mutation($id: UUID!, $i: UpdateContactInput!) {
    updateContact(id: $id, input: $i) { id version phone { e164 } } }";

/// Longer than a claim may stay without its holder showing the phone (60 s).
fn past_the_stale_claim_age() -> chrono::Duration {
    chrono::Duration::minutes(2)
}

/// An agent's token and its account.
async fn agent_and_account(app: &TestApp) -> (String, Uuid) {
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    (agent, account)
}

/// `registerContact` with a Brazilian phone number; returns the whole response.
async fn register(app: &TestApp, token: &str, account: Uuid, name: &str, number: &str) -> Value {
    app.graphql(
        Some(token),
        REGISTER,
        json!({"i": {"accountId": account, "name": name, "phone": {"ddi": "55", "number": number}}}),
    )
    .await
}

fn registered_id(v: &Value) -> Uuid {
    assert!(v.get("errors").is_none(), "unexpected errors: {v:#}");
    v["data"]["registerContact"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// `updateContact` of the phone alone; returns the whole response.
async fn update_phone(app: &TestApp, token: &str, id: Uuid, number: &str) -> Value {
    app.graphql(
        Some(token),
        UPDATE,
        json!({"id": id, "i": {"phone": {"ddi": "55", "number": number}}}),
    )
    .await
}

fn existing_id(v: &Value) -> Uuid {
    assert_eq!(error_code(v), "CONFLICT", "{v:#}");
    v["errors"][0]["extensions"]["existingId"]
        .as_str()
        .unwrap_or_else(|| panic!("no existingId in {v:#}"))
        .parse()
        .unwrap()
}

/// Who holds the claim of `key` in `account`.
async fn claim_of(app: &TestApp, account: Uuid, key: &str) -> Option<Uuid> {
    sqlx::query_scalar(
        "SELECT contact_id FROM contact_phone_keys WHERE account_id = $1 AND routing_key = $2",
    )
    .bind(account)
    .bind(key)
    .fetch_optional(&app.db.pool)
    .await
    .unwrap()
}

/// The routing key `contact` holds a claim of.
async fn key_of(app: &TestApp, contact: Uuid) -> String {
    sqlx::query_scalar("SELECT routing_key FROM contact_phone_keys WHERE contact_id = $1")
        .bind(contact)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn updating_to_a_phone_another_contact_of_the_account_routes_by_is_a_conflict() {
    let app = spawn_app().await;
    let (agent, account) = agent_and_account(&app).await;
    let ana = registered_id(&register(&app, &agent, account, "Ana", "11987654321").await);
    let bia = registered_id(&register(&app, &agent, account, "Bia", "1134567890").await);

    assert_eq!(
        existing_id(&update_phone(&app, &agent, bia, "(11) 98765-4321").await),
        ana
    );
    // Without the ninth digit it is the same routing key.
    assert_eq!(
        existing_id(&update_phone(&app, &agent, bia, "1187654321").await),
        ana
    );
    let q = "query($id: UUID!) { contact(id: $id) { version phone { e164 } } }";
    let d = app.ok(Some(&agent), q, json!({"id": bia})).await;
    assert_eq!(d["contact"]["version"], 1);
    assert_eq!(d["contact"]["phone"]["e164"], "+551134567890");

    // Another account may route by the same phone.
    let (other_agent, other_account) = agent_and_account(&app).await;
    let caio =
        registered_id(&register(&app, &other_agent, other_account, "Caio", "21912345678").await);
    let v = update_phone(&app, &other_agent, caio, "11987654321").await;
    assert!(v.get("errors").is_none(), "unexpected errors: {v:#}");
    assert_eq!(
        v["data"]["updateContact"]["phone"]["e164"],
        "+5511987654321"
    );
}

#[tokio::test]
async fn a_registered_contacts_claim_is_never_taken_over_even_without_its_read_model_row() {
    let app = spawn_app().await;
    let (agent, account) = agent_and_account(&app).await;
    let ana = registered_id(&register(&app, &agent, account, "Ana", "11987654321").await);
    let key = key_of(&app, ana).await;
    // As if the contacts projection had stalled before Ana's registration.
    sqlx::query("DELETE FROM contacts WHERE id = $1")
        .bind(ana)
        .execute(&app.db.pool)
        .await
        .unwrap();
    app.clock.advance(past_the_stale_claim_age());

    let v = register(&app, &agent, account, "Impostor", "11987654321").await;
    assert_eq!(existing_id(&v), ana);
    assert_eq!(claim_of(&app, account, &key).await, Some(ana));
    let contacts: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT aggregate_id) FROM events WHERE aggregate_type = 'Contact'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(contacts, 1, "no second contact was written");
}

#[tokio::test]
async fn a_stale_claim_of_a_registration_that_never_committed_is_taken_over() {
    let app = spawn_app().await;
    let (agent, account) = agent_and_account(&app).await;
    // A registration that claimed the phone and crashed before writing its event.
    let ghost = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO contact_phone_keys (account_id, routing_key, contact_id, claimed_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(account)
    .bind("551187654321")
    .bind(ghost)
    .bind(app.clock.now())
    .execute(&app.db.pool)
    .await
    .unwrap();

    // While fresh, the claim may still be about to commit: it stands.
    let v = register(&app, &agent, account, "Ana", "11987654321").await;
    assert_eq!(existing_id(&v), ghost);

    app.clock.advance(past_the_stale_claim_age());
    let ana = registered_id(&register(&app, &agent, account, "Ana", "11987654321").await);
    assert_eq!(claim_of(&app, account, "551187654321").await, Some(ana));
}

#[tokio::test]
async fn a_phone_given_back_is_claimed_again_even_when_the_read_model_still_shows_it() {
    let app = spawn_app().await;
    let (agent, account) = agent_and_account(&app).await;
    let ana = registered_id(&register(&app, &agent, account, "Ana", "11987654321").await);
    let first_key = key_of(&app, ana).await;
    let v = update_phone(&app, &agent, ana, "1134567890").await;
    assert!(v.get("errors").is_none(), "unexpected errors: {v:#}");
    let bia = registered_id(&register(&app, &agent, account, "Bia", "11987654321").await);
    // As if the contacts projection lagged behind Ana's change of phone.
    sqlx::query("UPDATE contacts SET phone_key = $2, phone_e164 = '+5511987654321' WHERE id = $1")
        .bind(ana)
        .bind(&first_key)
        .execute(&app.db.pool)
        .await
        .unwrap();

    assert_eq!(
        existing_id(&update_phone(&app, &agent, ana, "11987654321").await),
        bia
    );
    assert_eq!(claim_of(&app, account, &first_key).await, Some(bia));
}
