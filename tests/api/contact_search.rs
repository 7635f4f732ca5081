//! The contact finder over HTTP: the EMAIL and REGISTRATION_NUMBER modes, search terms matched
//! literally (`%` and `_` are no wildcards), and paging through `contacts` with `after`.

use std::collections::HashSet;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::app::{error_code, spawn_app, TestApp};

const REGISTER: &str = "mutation($i: RegisterContactInput!) { registerContact(input: $i) { id } }";

const SEARCH: &str = "query($f: ContactSearchField, $s: String) {
    contacts(field: $f, search: $s) { totalCount nodes { name } } }";

/// An agent's token and its account.
async fn agent_and_account(app: &TestApp) -> (String, Uuid) {
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    (agent, account)
}

/// Registers a contact of `account` with `fields` besides its name; returns its id.
async fn register(app: &TestApp, token: &str, account: Uuid, name: &str, fields: Value) -> String {
    let mut input = json!({"accountId": account, "name": name});
    input
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    let data = app.ok(Some(token), REGISTER, json!({"i": input})).await;
    data["registerContact"]["id"].as_str().unwrap().to_string()
}

/// The names a search finds, sorted.
async fn found(app: &TestApp, token: &str, field: &str, term: &str) -> Vec<String> {
    let d = app
        .ok(Some(token), SEARCH, json!({"f": field, "s": term}))
        .await;
    let mut names: Vec<String> = d["contacts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(d["contacts"]["totalCount"], names.len(), "{field} {term}");
    names.sort();
    names
}

#[tokio::test]
async fn email_and_registration_number_searches_look_only_in_their_field() {
    let app = spawn_app().await;
    let (agent, account) = agent_and_account(&app).await;
    register(
        &app,
        &agent,
        account,
        "Carla Dias",
        json!({"email": "Carla.Dias@Example.com"}),
    )
    .await;
    register(
        &app,
        &agent,
        account,
        "Example Store",
        json!({"registrationNumber": "MAT-00042"}),
    )
    .await;
    register(&app, &agent, account, "Davi 00042", json!({})).await;

    assert_eq!(
        found(&app, &agent, "EMAIL", "EXAMPLE.COM").await,
        ["Carla Dias"]
    );
    assert_eq!(
        found(&app, &agent, "EMAIL", "carla.dias@").await,
        ["Carla Dias"]
    );
    assert!(found(&app, &agent, "EMAIL", "store").await.is_empty());
    assert_eq!(
        found(&app, &agent, "REGISTRATION_NUMBER", "mat-00042").await,
        ["Example Store"]
    );
    assert_eq!(
        found(&app, &agent, "REGISTRATION_NUMBER", "00042").await,
        ["Example Store"]
    );
    assert!(found(&app, &agent, "REGISTRATION_NUMBER", "carla")
        .await
        .is_empty());
    // ANY looks everywhere.
    assert_eq!(
        found(&app, &agent, "ANY", "example").await,
        ["Carla Dias", "Example Store"]
    );
    assert_eq!(
        found(&app, &agent, "ANY", "00042").await,
        ["Davi 00042", "Example Store"]
    );
}

#[tokio::test]
async fn percent_and_underscore_in_a_search_are_matched_literally() {
    let app = spawn_app().await;
    let (agent, account) = agent_and_account(&app).await;
    register(
        &app,
        &agent,
        account,
        "Loja_Centro",
        json!({"email": "loja_centro@example.com"}),
    )
    .await;
    register(
        &app,
        &agent,
        account,
        "Abc Ltda",
        json!({"email": "abc@example.com"}),
    )
    .await;
    register(&app, &agent, account, "Desconto 50% Ltda", json!({})).await;

    for field in ["ANY", "NAME", "EMAIL", "REGISTRATION_NUMBER"] {
        assert!(found(&app, &agent, field, "%%").await.is_empty(), "{field}");
    }
    assert_eq!(found(&app, &agent, "ANY", "%").await, ["Desconto 50% Ltda"]);
    assert_eq!(found(&app, &agent, "NAME", "_").await, ["Loja_Centro"]);
    // As a wildcard, "a_c" would also find "Abc Ltda".
    assert_eq!(found(&app, &agent, "NAME", "a_c").await, ["Loja_Centro"]);
    assert_eq!(found(&app, &agent, "EMAIL", "a_c").await, ["Loja_Centro"]);
    assert!(found(&app, &agent, "NAME", "\\").await.is_empty());
}

#[tokio::test]
async fn contacts_page_with_after_until_none_is_left_each_contact_once() {
    let app = spawn_app().await;
    let (agent, account) = agent_and_account(&app).await;
    let mut registered = HashSet::new();
    // Equal names too: the order is (name, id), so a page boundary between them loses nobody.
    for name in ["Ana", "Ana", "Ana", "Bruno", "Célia", "celia", "Davi"] {
        registered.insert(register(&app, &agent, account, name, json!({})).await);
    }
    let q = "query($first: Int, $after: String) { contacts(first: $first, after: $after) {
        totalCount nodes { id name } pageInfo { hasNextPage hasPreviousPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let d = app
            .ok(Some(&agent), q, json!({"first": 2, "after": after}))
            .await;
        let page = &d["contacts"];
        pages += 1;
        assert_eq!(page["totalCount"], 7);
        assert_eq!(page["pageInfo"]["hasPreviousPage"], after.is_some());
        let nodes = page["nodes"].as_array().unwrap();
        assert!(
            !nodes.is_empty() && nodes.len() <= 2,
            "page {pages}: {page:#}"
        );
        seen.extend(nodes.iter().map(|n| n["id"].as_str().unwrap().to_string()));
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = Some(page["pageInfo"]["endCursor"].as_str().unwrap().to_string());
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 4);
    assert_eq!(seen.len(), 7, "no contact twice: {seen:?}");
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), registered);
}

#[tokio::test]
async fn a_page_of_more_than_200_contacts_exceeds_the_limit() {
    let app = spawn_app().await;
    let (agent, _) = agent_and_account(&app).await;
    let q = "query($first: Int) { contacts(first: $first) { totalCount } }";
    let v = app.graphql(Some(&agent), q, json!({"first": 201})).await;
    assert_eq!(error_code(&v), "LIMIT_EXCEEDED");
    app.ok(Some(&agent), q, json!({"first": 200})).await;
}
