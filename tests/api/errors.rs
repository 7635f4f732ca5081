//! Errors async-graphql raises itself carry the contract's `extensions.code` too: the depth and
//! complexity limits and the 1 MiB JSON body are LIMIT_EXCEEDED; values that do not coerce to
//! their type (an unknown enum value, a malformed Date or UUID), syntax errors, unknown fields
//! and missing arguments are VALIDATION, naming the input field where there is one.

use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::app::{error_code, spawn_app, TestApp};
use crate::helpers::ws;

const REGISTER: &str = "mutation($i: RegisterContactInput!) { registerContact(input: $i) { id } }";

/// An address valid in every field.
fn address() -> Value {
    json!({"type": "RESIDENTIAL", "cep": "01310-100", "street": "Av. Paulista", "number": "1000",
           "neighborhood": "Bela Vista", "city": "São Paulo", "uf": "SP"})
}

/// `{field, message}` of the first error's `extensions.fields`, by field.
fn fields(v: &Value) -> Vec<String> {
    v["errors"][0]["extensions"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no fields in {v:#}"))
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect()
}

/// An agent's token and an account it serves: the requests below are authorised, so only the
/// input can be at fault.
async fn agent_and_account(app: &TestApp) -> (String, Uuid) {
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    (agent, account)
}

async fn contacts_written(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'Contact'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_query_nested_too_deep_exceeds_the_limit() {
    let app = spawn_app().await;
    let token = app.admin().await;
    // 14 levels: __schema, types, fields, type, nine ofType, name.
    let query = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
        "ofType { ".repeat(9),
        "}".repeat(9)
    );
    let v = app.graphql(Some(&token), &query, json!({})).await;
    assert_eq!(error_code(&v), "LIMIT_EXCEEDED", "{v:#}");
    assert!(v["data"].is_null());

    // One level less is served.
    let query = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
        "ofType { ".repeat(7),
        "}".repeat(7)
    );
    app.ok(Some(&token), &query, json!({})).await;
}

#[tokio::test]
async fn a_query_too_complex_exceeds_the_limit() {
    let app = spawn_app().await;
    let token = app.admin().await;
    let many = |n: usize| {
        let fields: String = (0..n)
            .map(|i| format!("a{i}: settings {{ showStatistics }} "))
            .collect();
        format!("{{ {fields} }}")
    };
    // Two fields each: 1,100 of them are 2,200, over the 2,000 allowed; 900 are served.
    let v = app.graphql(Some(&token), &many(1100), json!({})).await;
    assert_eq!(error_code(&v), "LIMIT_EXCEEDED", "{v:#}");
    let data = app.ok(Some(&token), &many(900), json!({})).await;
    assert_eq!(data["a899"]["showStatistics"], true);
}

#[tokio::test]
async fn a_json_body_over_1_mib_is_refused_with_413() {
    let app = spawn_app().await;
    let padding = "x".repeat(1024 * 1024);
    let res = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({"query": "{ __typename }", "variables": {"padding": padding}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    let v: Value = res.json().await.unwrap();
    assert_eq!(error_code(&v), "LIMIT_EXCEEDED");

    // Just under the limit is read (and answered).
    let padding = "x".repeat(1000 * 1024);
    let v: Value = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({"query": "{ __typename }", "variables": {"padding": padding}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"]["__typename"], "Query", "{v:#}");
}

#[tokio::test]
async fn a_body_that_is_not_a_graphql_request_is_a_validation_error() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body("{\"query\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::BAD_REQUEST);
    let v: Value = res.json().await.unwrap();
    assert_eq!(error_code(&v), "VALIDATION");
    assert_eq!(v["errors"][0]["extensions"]["fields"], json!([]));
}

#[tokio::test]
async fn an_unknown_enum_value_is_a_validation_error_naming_its_field() {
    let app = spawn_app().await;
    let (token, account) = agent_and_account(&app).await;

    // In variables.
    let mut bad = address();
    bad["uf"] = json!("XX");
    let v = app
        .graphql(
            Some(&token),
            REGISTER,
            json!({"i": {"accountId": account, "name": "Ana", "addresses": [address(), bad]}}),
        )
        .await;
    assert_eq!(error_code(&v), "VALIDATION", "{v:#}");
    assert_eq!(fields(&v), ["addresses.1.uf"]);

    // Inline in the query.
    let inline = format!(
        "mutation {{ registerContact(input: {{accountId: \"{account}\", name: \"Ana\",
            addresses: [{{type: CASTLE, cep: \"01310-100\", street: \"Av. Paulista\", number: \"1\",
                          neighborhood: \"Bela Vista\", city: \"São Paulo\", uf: SP}}]}}) {{ id }} }}"
    );
    let v = app.graphql(Some(&token), &inline, json!({})).await;
    assert_eq!(error_code(&v), "VALIDATION", "{v:#}");
    assert_eq!(fields(&v), ["addresses.0.type"]);
    assert_eq!(contacts_written(&app).await, 0);
}

#[tokio::test]
async fn a_malformed_date_or_uuid_is_a_validation_error_naming_its_field() {
    let app = spawn_app().await;
    let (token, account) = agent_and_account(&app).await;

    let v = app
        .graphql(
            Some(&token),
            REGISTER,
            json!({"i": {"accountId": account, "name": "Ana", "birthDate": "17/05/1980"}}),
        )
        .await;
    assert_eq!(error_code(&v), "VALIDATION", "{v:#}");
    assert_eq!(fields(&v), ["birthDate"]);
    let message = v["errors"][0]["extensions"]["fields"][0]["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("YYYY-MM-DD"), "{message}");

    let v = app
        .graphql(
            Some(&token),
            REGISTER,
            json!({"i": {"accountId": account, "name": "Ana", "tagIds": [Uuid::new_v4(), "tag-2"]}}),
        )
        .await;
    assert_eq!(error_code(&v), "VALIDATION", "{v:#}");
    assert_eq!(fields(&v), ["tagIds.1"]);

    // An argument that is a bare scalar is named by itself.
    let v = app
        .graphql(
            Some(&token),
            "{ contact(id: \"not-a-uuid\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&v), "VALIDATION", "{v:#}");
    assert_eq!(fields(&v), ["id"]);
    assert_eq!(contacts_written(&app).await, 0);
}

#[tokio::test]
async fn syntax_errors_unknown_fields_and_missing_arguments_are_validation_errors() {
    let app = spawn_app().await;
    let token = app.admin().await;
    for query in [
        "{ me { id ",
        "{ me { shoeSize } }",
        "mutation { registerContact { id } }",
        "{ contact { id } }",
    ] {
        let v = app.graphql(Some(&token), query, json!({})).await;
        assert_eq!(error_code(&v), "VALIDATION", "{query}: {v:#}");
        assert!(
            v["errors"][0]["extensions"]["fields"].is_array(),
            "{query}: {v:#}"
        );
    }
    // A required input field left out is named.
    let v = app
        .graphql(Some(&token), REGISTER, json!({"i": {"name": "Ana"}}))
        .await;
    assert_eq!(error_code(&v), "VALIDATION", "{v:#}");
    assert_eq!(fields(&v), ["accountId"]);
}

#[tokio::test]
async fn errors_on_a_websocket_carry_codes_too() {
    let app = spawn_app().await;
    let token = app.admin().await;
    let mut socket = ws::authorised(app.address, &token).await;
    ws::subscribe(
        &mut socket,
        "1",
        "subscription { presenceChanged { shoeSize } }",
        json!({}),
    )
    .await;
    let message = ws::expect_type(&mut socket, "next", Duration::from_secs(5)).await;
    assert_eq!(
        message["payload"]["errors"][0]["extensions"]["code"], "VALIDATION",
        "{message:#}"
    );
    ws::drop_socket(socket).await;
}
