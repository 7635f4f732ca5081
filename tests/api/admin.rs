//! The catalogue's administration: agents, accounts, services (and the account's default),
//! settings, pause reasons, tags, classifications, templates, integration tokens, and their audit
//! trail.
//!
//! The first tests go through the API over HTTP (guards, error codes, the contract's shapes);
//! the rest drive the use cases in `commands::admin` directly, on a fresh database each.

use chrono::Utc;
use commands::admin::{
    accounts, audit, classifications, integration_tokens, pause_reasons, services, settings, tags,
    templates,
};
use commands::{Actor, CommandContext, CommandError};
use domain::kinds::{ChannelType, Role};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::app::{error_code, spawn_app, TestApp};
use crate::helpers::db::test_database;

// ---------------------------------------------------------------- over HTTP

const CREATE_ACCOUNT: &str =
    "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id name timezone defaultService { id } } }";
const CREATE_SERVICE: &str = "mutation($i: CreateServiceInput!) {
    createService(input: $i) { id name surveyEnabled account { id name } } }";
const CREATE_TEMPLATE: &str = "mutation($i: CreateTemplateInput!) {
    createTemplate(input: $i) { id account { id } channel name language body variableCount } }";
const CREATE_TAG: &str =
    "mutation($a: UUID!, $n: String!, $c: String) { createTag(accountId: $a, name: $n, color: $c) { id name color } }";
const UPDATE_SETTINGS: &str = "mutation($i: UpdateSettingsInput!) {
    updateSettings(input: $i) { showStatistics allowImageChange allowPasswordChange } }";

/// The `field`s of the first error's `extensions.fields`.
fn error_fields(v: &Value) -> Vec<String> {
    v["errors"][0]["extensions"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no fields in {v:#}"))
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect()
}

fn id(v: &Value) -> Uuid {
    v.as_str()
        .unwrap_or_else(|| panic!("not an id: {v}"))
        .parse()
        .unwrap()
}

/// A logged-in administrator: (agent id, token).
async fn admin_agent(app: &TestApp) -> (Uuid, String) {
    let email = format!("admin-{}@example.com", Uuid::new_v4().simple());
    let id = app.register_agent(&email, Role::Admin, vec![]).await;
    (id, app.login(&email).await)
}

async fn create_account(app: &TestApp, admin: &str, name: &str) -> Uuid {
    let data = app
        .ok(Some(admin), CREATE_ACCOUNT, json!({"i": {"name": name}}))
        .await;
    id(&data["createAccount"]["id"])
}

#[tokio::test]
async fn administration_needs_a_token_and_the_admin_role() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    let supervisor_email = format!("sup-{}@example.com", Uuid::new_v4().simple());
    app.register_agent(&supervisor_email, Role::Supervisor, vec![service])
        .await;
    let supervisor = app.login(&supervisor_email).await;

    let attempts: [(&str, Value); 8] = [
        (CREATE_ACCOUNT, json!({"i": {"name": "X"}})),
        (
            CREATE_SERVICE,
            json!({"i": {"accountId": account, "name": "X"}}),
        ),
        (UPDATE_SETTINGS, json!({"i": {"showStatistics": false}})),
        (
            "mutation { createPauseReason(name: \"X\") { id } }",
            json!({}),
        ),
        (CREATE_TAG, json!({"a": account, "n": "X"})),
        (
            "mutation($a: UUID!) { createClassification(accountId: $a, name: \"X\") { id } }",
            json!({"a": account}),
        ),
        (
            CREATE_TEMPLATE,
            json!({"i": {"accountId": account, "channel": "SMS", "name": "x", "language": "pt_BR", "body": "x"}}),
        ),
        (
            "mutation { createIntegrationToken(name: \"X\") }",
            json!({}),
        ),
    ];
    for (query, vars) in attempts {
        assert_eq!(
            error_code(&app.graphql(None, query, vars.clone()).await),
            "UNAUTHENTICATED",
            "{query}"
        );
        assert_eq!(
            error_code(&app.graphql(Some("not-a-token"), query, vars.clone()).await),
            "UNAUTHENTICATED"
        );
        assert_eq!(
            error_code(&app.graphql(Some(&agent), query, vars.clone()).await),
            "FORBIDDEN",
            "{query}"
        );
        assert_eq!(
            error_code(&app.graphql(Some(&supervisor), query, vars).await),
            "FORBIDDEN",
            "{query}"
        );
    }
    // Nothing was created: one account, one service, default settings.
    let data = app
        .ok(
            Some(&agent),
            "{ accounts { id } services { id } settings { showStatistics } }",
            json!({}),
        )
        .await;
    assert_eq!(data["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(data["services"].as_array().unwrap().len(), 1);
    assert_eq!(data["settings"]["showStatistics"], true);
}

const REGISTER_AGENT: &str = "mutation($i: RegisterAgentInput!) {
    registerAgent(input: $i) { id name email role maxConcurrent services { id } } }";
const UPDATE_AGENT: &str = "mutation($id: UUID!, $i: UpdateAgentInput!) {
    updateAgent(id: $id, input: $i) { id maxConcurrent } }";
const LOGIN: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";

/// A logged-in SUPERVISOR of `service`.
async fn supervisor_in(app: &TestApp, service: Uuid) -> String {
    let email = format!("sup-{}@example.com", Uuid::new_v4().simple());
    app.register_agent(&email, Role::Supervisor, vec![service])
        .await;
    app.login(&email).await
}

#[tokio::test]
async fn only_administrators_register_and_update_agents() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, service) = app.account_with_service(&admin).await;
    let (agent_id, agent) = app.agent_in(service).await;
    let supervisor = supervisor_in(&app, service).await;
    let email = format!("new-{}@example.com", Uuid::new_v4().simple());
    let new_agent = json!({"i": {"name": "New", "email": email, "password": "a long password",
                                 "role": "ADMIN"}});
    let update = json!({"id": agent_id, "i": {"maxConcurrent": 1, "role": "ADMIN"}});

    for (who, token) in [("agent", &agent), ("supervisor", &supervisor)] {
        let v = app
            .graphql(Some(token), REGISTER_AGENT, new_agent.clone())
            .await;
        assert_eq!(error_code(&v), "FORBIDDEN", "{who} registers: {v:#}");
        let v = app.graphql(Some(token), UPDATE_AGENT, update.clone()).await;
        assert_eq!(error_code(&v), "FORBIDDEN", "{who} updates: {v:#}");
    }
    for (query, vars) in [(REGISTER_AGENT, &new_agent), (UPDATE_AGENT, &update)] {
        let v = app.graphql(None, query, vars.clone()).await;
        assert_eq!(error_code(&v), "UNAUTHENTICATED");
    }

    // Nothing changed: no such agent can log in, and the agent is as it was.
    let v = app
        .graphql(None, LOGIN, json!({"e": email, "p": "a long password"}))
        .await;
    assert_eq!(error_code(&v), "UNAUTHENTICATED");
    let me = app
        .ok(Some(&agent), "{ me { role maxConcurrent } }", json!({}))
        .await;
    assert_eq!(me["me"], json!({"role": "AGENT", "maxConcurrent": 5}));
}

#[tokio::test]
async fn an_administrator_registers_an_agent_who_can_log_in_once_per_e_mail() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, service) = app.account_with_service(&admin).await;
    let email = format!("new-{}@example.com", Uuid::new_v4().simple());
    let password = "a long password";

    let data = app
        .ok(
            Some(&admin),
            REGISTER_AGENT,
            json!({"i": {"name": "Maria", "email": email.to_uppercase(), "password": password,
                         "role": "SUPERVISOR", "serviceIds": [service], "maxConcurrent": 3}}),
        )
        .await;
    let registered = &data["registerAgent"];
    assert_eq!(registered["name"], "Maria");
    assert_eq!(registered["email"], email, "stored in lower case");
    assert_eq!(registered["role"], "SUPERVISOR");
    assert_eq!(registered["maxConcurrent"], 3);
    assert_eq!(registered["services"], json!([{"id": service}]));

    let data = app
        .ok(None, LOGIN, json!({"e": email, "p": password}))
        .await;
    let token = data["login"]["token"].as_str().unwrap();
    let me = app.ok(Some(token), "{ me { id role } }", json!({})).await;
    assert_eq!(me["me"]["id"], registered["id"]);
    assert_eq!(me["me"]["role"], "SUPERVISOR");

    // The same e-mail again, in another case: CONFLICT, and the first agent is untouched.
    let v = app
        .graphql(
            Some(&admin),
            REGISTER_AGENT,
            json!({"i": {"name": "Other", "email": format!(" {} ", email.to_uppercase()),
                         "password": "another long one"}}),
        )
        .await;
    assert_eq!(error_code(&v), "CONFLICT", "{v:#}");
    let v = app
        .graphql(None, LOGIN, json!({"e": email, "p": "another long one"}))
        .await;
    assert_eq!(error_code(&v), "UNAUTHENTICATED");
    app.ok(None, LOGIN, json!({"e": email, "p": password}))
        .await;
}

#[tokio::test]
async fn the_catalogue_is_readable_by_any_caller_with_a_token_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, _) = app.account_with_service(&admin).await;
    let query =
        "query($a: UUID!) { accounts { id } services(accountId: $a) { id } pauseReasons { id }
        classifications(accountId: $a) { id } tags(accountId: $a) { id }
        templates(accountId: $a, channel: WHATSAPP) { id } settings { showStatistics } }";
    let v = app.graphql(None, query, json!({"a": account})).await;
    assert_eq!(error_code(&v), "UNAUTHENTICATED");

    let data = app
        .ok(
            Some(&admin),
            "mutation { createIntegrationToken(name: \"gateway\") }",
            json!({}),
        )
        .await;
    let token = data["createIntegrationToken"].as_str().unwrap().to_string();
    assert!(token.len() >= 32, "{token}");
    let data = app.ok(Some(&token), query, json!({"a": account})).await;
    assert_eq!(data["accounts"][0]["id"], json!(account));

    let v = app
        .graphql(
            Some(&admin),
            "mutation { createIntegrationToken(name: \"gateway\") }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&v), "CONFLICT");
}

#[tokio::test]
async fn an_account_gets_sao_paulo_time_and_rejects_an_unknown_zone() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let data = app
        .ok(
            Some(&admin),
            CREATE_ACCOUNT,
            json!({"i": {"name": "  Acme "}}),
        )
        .await;
    assert_eq!(data["createAccount"]["name"], "Acme");
    assert_eq!(data["createAccount"]["timezone"], "America/Sao_Paulo");
    assert_eq!(data["createAccount"]["defaultService"], Value::Null);

    let data = app
        .ok(
            Some(&admin),
            CREATE_ACCOUNT,
            json!({"i": {"name": "Porto", "timezone": "Europe/Lisbon"}}),
        )
        .await;
    assert_eq!(data["createAccount"]["timezone"], "Europe/Lisbon");

    let v = app
        .graphql(
            Some(&admin),
            CREATE_ACCOUNT,
            json!({"i": {"name": "X", "timezone": "America/Atlantis"}}),
        )
        .await;
    assert_eq!(error_code(&v), "VALIDATION");
    assert_eq!(error_fields(&v), ["timezone"]);
    let v = app
        .graphql(
            Some(&admin),
            CREATE_ACCOUNT,
            json!({"i": {"name": "x".repeat(101)}}),
        )
        .await;
    assert_eq!(error_fields(&v), ["name"]);

    let data = app
        .ok(Some(&admin), "{ accounts { name timezone } }", json!({}))
        .await;
    assert_eq!(
        data["accounts"],
        json!([{"name": "Acme", "timezone": "America/Sao_Paulo"}, {"name": "Porto", "timezone": "Europe/Lisbon"}])
    );
}

#[tokio::test]
async fn a_new_default_service_takes_over_the_account_s_inbound() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let account = create_account(&app, &admin, "Acme").await;

    let data = app
        .ok(
            Some(&admin),
            CREATE_SERVICE,
            json!({"i": {"accountId": account, "name": "Vendas"}}),
        )
        .await;
    let vendas = &data["createService"];
    assert_eq!(vendas["surveyEnabled"], true);
    assert_eq!(vendas["account"], json!({"id": account, "name": "Acme"}));

    let mut defaults = Vec::new();
    for (name, survey) in [("Suporte", false), ("Atendimento", true)] {
        let data = app
            .ok(
                Some(&admin),
                CREATE_SERVICE,
                json!({"i": {"accountId": account, "name": name, "surveyEnabled": survey, "default": true}}),
            )
            .await;
        assert_eq!(data["createService"]["surveyEnabled"], survey);
        let default = id(&data["createService"]["id"]);
        let data = app
            .ok(
                Some(&admin),
                "{ accounts { defaultService { id name } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            data["accounts"][0]["defaultService"],
            json!({"id": default, "name": name})
        );
        defaults.push(default);
    }

    let data = app
        .ok(
            Some(&admin),
            "query($a: UUID) { services(accountId: $a) { name } }",
            json!({"a": account}),
        )
        .await;
    assert_eq!(
        data["services"],
        json!([{"name": "Atendimento"}, {"name": "Suporte"}, {"name": "Vendas"}])
    );

    let v = app
        .graphql(
            Some(&admin),
            CREATE_SERVICE,
            json!({"i": {"accountId": account, "name": "vendas"}}),
        )
        .await;
    assert_eq!(error_code(&v), "CONFLICT");
    let v = app
        .graphql(
            Some(&admin),
            CREATE_SERVICE,
            json!({"i": {"accountId": Uuid::new_v4(), "name": "X"}}),
        )
        .await;
    assert_eq!(error_code(&v), "VALIDATION");
    assert_eq!(error_fields(&v), ["accountId"]);
}

#[tokio::test]
async fn a_template_s_placeholders_are_counted_and_gaps_rejected() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let account = create_account(&app, &admin, "Acme").await;
    let input = |body: &str| {
        json!({"i": {"accountId": account, "channel": "WHATSAPP_BUSINESS_API", "name": "pedido",
                     "language": "pt_BR", "body": body}})
    };

    let v = app
        .graphql(
            Some(&admin),
            CREATE_TEMPLATE,
            input("Olá {{1}}, pedido {{3}}"),
        )
        .await;
    assert_eq!(error_code(&v), "VALIDATION");
    assert_eq!(error_fields(&v), ["body"]);

    let data = app
        .ok(
            Some(&admin),
            CREATE_TEMPLATE,
            input("Olá {{1}}, pedido {{2}} chegou"),
        )
        .await;
    let t = &data["createTemplate"];
    assert_eq!(t["variableCount"], 2);
    assert_eq!(t["channel"], "WHATSAPP_BUSINESS_API");
    assert_eq!(t["account"]["id"], json!(account));
    assert_eq!(t["body"], "Olá {{1}}, pedido {{2}} chegou");

    let list = "query($a: UUID!, $c: ChannelType!) { templates(accountId: $a, channel: $c) { id variableCount } }";
    let data = app
        .ok(
            Some(&admin),
            list,
            json!({"a": account, "c": "WHATSAPP_BUSINESS_API"}),
        )
        .await;
    assert_eq!(
        data["templates"],
        json!([{"id": t["id"], "variableCount": 2}])
    );
    let data = app
        .ok(Some(&admin), list, json!({"a": account, "c": "WHATSAPP"}))
        .await;
    assert_eq!(data["templates"], json!([]));
}

#[tokio::test]
async fn a_duplicate_tag_is_a_conflict_naming_the_existing_one() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let account = create_account(&app, &admin, "Acme").await;
    let data = app
        .ok(
            Some(&admin),
            CREATE_TAG,
            json!({"a": account, "n": "VIP", "c": "#FFD700"}),
        )
        .await;
    assert_eq!(data["createTag"]["color"], "#FFD700");
    let vip = data["createTag"]["id"].clone();

    let v = app
        .graphql(Some(&admin), CREATE_TAG, json!({"a": account, "n": "vip"}))
        .await;
    assert_eq!(error_code(&v), "CONFLICT");
    assert_eq!(v["errors"][0]["extensions"]["existingId"], vip);
    // The same name in another account is another tag.
    let other = create_account(&app, &admin, "Other").await;
    app.ok(Some(&admin), CREATE_TAG, json!({"a": other, "n": "VIP"}))
        .await;

    let v = app
        .graphql(
            Some(&admin),
            CREATE_TAG,
            json!({"a": account, "n": "Ouro", "c": "gold"}),
        )
        .await;
    assert_eq!(error_fields(&v), ["color"]);

    let data = app
        .ok(
            Some(&admin),
            CREATE_TAG,
            json!({"a": account, "n": "Bronze"}),
        )
        .await;
    assert_eq!(data["createTag"]["color"], Value::Null);
    let data = app
        .ok(
            Some(&admin),
            "query($a: UUID!) { tags(accountId: $a) { name } }",
            json!({"a": account}),
        )
        .await;
    assert_eq!(data["tags"], json!([{"name": "Bronze"}, {"name": "VIP"}]));
}

#[tokio::test]
async fn settings_round_trip_changing_only_what_is_given() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;

    let data = app
        .ok(
            Some(&admin),
            UPDATE_SETTINGS,
            json!({"i": {"showStatistics": false}}),
        )
        .await;
    let expected =
        json!({"showStatistics": false, "allowImageChange": true, "allowPasswordChange": true});
    assert_eq!(data["updateSettings"], expected);
    let read = "{ settings { showStatistics allowImageChange allowPasswordChange } }";
    assert_eq!(
        app.ok(Some(&agent), read, json!({})).await["settings"],
        expected
    );

    let data = app
        .ok(
            Some(&admin),
            UPDATE_SETTINGS,
            json!({"i": {"allowImageChange": false, "showStatistics": true}}),
        )
        .await;
    let expected =
        json!({"showStatistics": true, "allowImageChange": false, "allowPasswordChange": true});
    assert_eq!(data["updateSettings"], expected);
    assert_eq!(
        app.ok(Some(&agent), read, json!({})).await["settings"],
        expected
    );
}

#[tokio::test]
async fn pause_reasons_and_classifications_are_created_and_listed_by_name() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let account = create_account(&app, &admin, "Acme").await;
    for name in ["Treinamento", "Almoço"] {
        app.ok(
            Some(&admin),
            "mutation($n: String!) { createPauseReason(name: $n) { id name } }",
            json!({"n": name}),
        )
        .await;
    }
    let classify = "mutation($a: UUID!, $n: String!) { createClassification(accountId: $a, name: $n) { name } }";
    let data = app
        .ok(
            Some(&admin),
            classify,
            json!({"a": account, "n": " Cliente "}),
        )
        .await;
    assert_eq!(data["createClassification"]["name"], "Cliente");
    let v = app
        .graphql(
            Some(&admin),
            classify,
            json!({"a": account, "n": "CLIENTE"}),
        )
        .await;
    assert_eq!(error_code(&v), "CONFLICT");

    let data = app
        .ok(
            Some(&admin),
            "query($a: UUID!) { pauseReasons { name } classifications(accountId: $a) { name } }",
            json!({"a": account}),
        )
        .await;
    assert_eq!(
        data["pauseReasons"],
        json!([{"name": "Almoço"}, {"name": "Treinamento"}])
    );
    assert_eq!(data["classifications"], json!([{"name": "Cliente"}]));
}

#[tokio::test]
async fn every_administrative_change_writes_an_audit_row() {
    let app = spawn_app().await;
    let (admin_id, admin) = admin_agent(&app).await;
    let account = create_account(&app, &admin, "Acme").await;
    app.ok(
        Some(&admin),
        CREATE_SERVICE,
        json!({"i": {"accountId": account, "name": "Vendas", "default": true}}),
    )
    .await;
    app.ok(Some(&admin), CREATE_TAG, json!({"a": account, "n": "VIP"}))
        .await;
    app.ok(
        Some(&admin),
        UPDATE_SETTINGS,
        json!({"i": {"allowPasswordChange": false}}),
    )
    .await;
    app.ok(
        Some(&admin),
        "mutation { createIntegrationToken(name: \"flows\") }",
        json!({}),
    )
    .await;
    // Rejected: no row.
    app.graphql(Some(&admin), CREATE_TAG, json!({"a": account, "n": "VIP"}))
        .await;

    let rows: Vec<(String, String, Value)> =
        sqlx::query_as("SELECT actor, action, payload FROM admin_audit ORDER BY id")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        actions,
        [
            "account.created",
            "service.created",
            "account.default_service_changed",
            "tag.created",
            "settings.updated",
            "integration_token.created",
        ]
    );
    assert!(rows.iter().all(|r| r.0 == admin_id.to_string()), "{rows:?}");
    assert_eq!(rows[0].2["name"], "Acme");
    assert_eq!(rows[4].2["settings"]["allowPasswordChange"], false);
    assert!(
        !rows[5].2.to_string().contains("token\":"),
        "the token is not audited: {}",
        rows[5].2
    );
    let at: Vec<chrono::DateTime<Utc>> = sqlx::query_scalar("SELECT at FROM admin_audit")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert!(
        at.iter().all(|t| *t == app.clock.now()),
        "the request's clock: {at:?}"
    );
}

// ---------------------------------------------------------------- the use cases

fn as_role(role: Role) -> CommandContext {
    let actor = Actor::Agent {
        id: Uuid::new_v4(),
        role,
        session_id: None,
    };
    CommandContext::new(actor, Uuid::new_v4().to_string(), Utc::now())
}

fn admin() -> CommandContext {
    as_role(Role::Admin)
}

/// The fields a VALIDATION error names, or a panic showing what came instead.
fn invalid_fields<T: std::fmt::Debug>(r: Result<T, CommandError>) -> Vec<String> {
    match r {
        Err(CommandError::Validation(e)) => e.0.into_iter().map(|f| f.field).collect(),
        other => panic!("expected VALIDATION, got {other:?}"),
    }
}

async fn account(pool: &PgPool, ctx: &CommandContext, name: &str) -> accounts::AccountRow {
    accounts::create(
        pool,
        ctx,
        accounts::NewAccount {
            name: name.into(),
            timezone: None,
        },
    )
    .await
    .unwrap()
}

fn service(account_id: Uuid, name: &str, default: bool) -> services::NewService {
    services::NewService {
        account_id,
        name: name.into(),
        survey_enabled: true,
        default,
    }
}

fn template(account_id: Uuid, name: &str, body: &str) -> templates::NewTemplate {
    templates::NewTemplate {
        account_id,
        channel: ChannelType::WhatsappBusinessApi,
        name: name.into(),
        language: "pt_BR".into(),
        body: body.into(),
    }
}

#[tokio::test]
async fn an_account_with_an_unknown_time_zone_or_a_blank_name_is_rejected() {
    let db = test_database().await;
    let r = accounts::create(
        &db.pool,
        &admin(),
        accounts::NewAccount {
            name: " ".into(),
            timezone: Some("Mars/Olympus".into()),
        },
    )
    .await;
    assert_eq!(invalid_fields(r), ["name", "timezone"]);
    assert!(accounts::list(&db.pool).await.unwrap().is_empty());
}

#[tokio::test]
async fn only_administrators_change_the_catalogue() {
    let db = test_database().await;
    let acme = account(&db.pool, &admin(), "Acme").await;
    for role in [Role::Agent, Role::Supervisor, Role::Integration] {
        let ctx = as_role(role);
        let r = accounts::create(
            &db.pool,
            &ctx,
            accounts::NewAccount {
                name: "X".into(),
                timezone: None,
            },
        )
        .await;
        assert!(
            matches!(r, Err(CommandError::Forbidden(_))),
            "{role}: {r:?}"
        );
        let r = tags::create(
            &db.pool,
            &ctx,
            tags::NewTag {
                account_id: acme.id,
                name: "x".into(),
                color: None,
            },
        )
        .await;
        assert!(
            matches!(r, Err(CommandError::Forbidden(_))),
            "{role}: {r:?}"
        );
        let r = settings::update(&db.pool, &ctx, settings::SettingsPatch::default()).await;
        assert!(
            matches!(r, Err(CommandError::Forbidden(_))),
            "{role}: {r:?}"
        );
        let r = integration_tokens::create(&db.pool, &ctx, "gw").await;
        assert!(
            matches!(r, Err(CommandError::Forbidden(_))),
            "{role}: {r:?}"
        );
    }
    let system = CommandContext::system(Utc::now());
    account(&db.pool, &system, "By the server").await;
}

#[tokio::test]
async fn a_default_service_replaces_the_previous_default() {
    let db = test_database().await;
    let ctx = admin();
    let acme = account(&db.pool, &ctx, "Acme").await;

    let plain = services::create(&db.pool, &ctx, service(acme.id, "Vendas", false))
        .await
        .unwrap();
    assert!(plain.survey_enabled);
    assert_eq!(
        accounts::get(&db.pool, acme.id)
            .await
            .unwrap()
            .unwrap()
            .default_service_id,
        None
    );

    let first = services::create(&db.pool, &ctx, service(acme.id, "Suporte", true))
        .await
        .unwrap();
    assert_eq!(
        accounts::get(&db.pool, acme.id)
            .await
            .unwrap()
            .unwrap()
            .default_service_id,
        Some(first.id)
    );

    let second = services::create(&db.pool, &ctx, service(acme.id, "Atendimento", true))
        .await
        .unwrap();
    assert_eq!(
        accounts::get(&db.pool, acme.id)
            .await
            .unwrap()
            .unwrap()
            .default_service_id,
        Some(second.id)
    );
    assert_eq!(
        services::default_of(&db.pool, acme.id)
            .await
            .unwrap()
            .map(|s| s.id),
        Some(second.id)
    );

    let names: Vec<String> = services::list(&db.pool, Some(acme.id))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["Atendimento", "Suporte", "Vendas"]);

    let switches: Vec<serde_json::Value> = audit::for_entity(&db.pool, acme.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == audit::action::ACCOUNT_DEFAULT_SERVICE_CHANGED)
        .map(|a| a.payload["previousDefaultServiceId"].clone())
        .collect();
    assert_eq!(
        switches,
        [serde_json::Value::Null, serde_json::json!(first.id)]
    );
}

#[tokio::test]
async fn services_missing_lists_the_unknown_ids_in_order() {
    let db = test_database().await;
    let ctx = admin();
    let acme = account(&db.pool, &ctx, "Acme").await;
    let s = services::create(&db.pool, &ctx, service(acme.id, "Vendas", false))
        .await
        .unwrap();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    assert_eq!(
        services::missing(&db.pool, &[a, s.id, b]).await.unwrap(),
        [a, b]
    );
    assert!(services::missing(&db.pool, &[s.id])
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_template_counts_its_placeholders_and_rejects_gaps() {
    let db = test_database().await;
    let ctx = admin();
    let acme = account(&db.pool, &ctx, "Acme").await;

    let r = templates::create(
        &db.pool,
        &ctx,
        template(acme.id, "pedido", "Olá {{1}}, pedido {{3}}"),
    )
    .await;
    assert_eq!(invalid_fields(r), ["body"]);
    let r = templates::create(&db.pool, &ctx, template(acme.id, "pedido", "Olá {{ 1 }}")).await;
    assert_eq!(invalid_fields(r), ["body"]);

    let t = templates::create(
        &db.pool,
        &ctx,
        template(acme.id, "pedido", "Olá {{1}}, pedido {{2}}"),
    )
    .await
    .unwrap();
    assert_eq!(t.variable_count, 2);
    assert_eq!(t.template_body().unwrap().variable_count(), 2);
    assert_eq!(
        templates::list(&db.pool, acme.id, ChannelType::WhatsappBusinessApi)
            .await
            .unwrap(),
        std::slice::from_ref(&t)
    );
    assert!(templates::list(&db.pool, acme.id, ChannelType::Sms)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(templates::get(&db.pool, t.id).await.unwrap(), Some(t));

    let dup = templates::create(&db.pool, &ctx, template(acme.id, "PEDIDO", "Oi")).await;
    assert!(matches!(dup, Err(CommandError::Conflict { .. })), "{dup:?}");
}

#[tokio::test]
async fn pause_reasons_and_classifications_are_listed_by_name_and_unique() {
    let db = test_database().await;
    let ctx = admin();
    let acme = account(&db.pool, &ctx, "Acme").await;
    for name in ["Treinamento", "almoço", "Banheiro"] {
        pause_reasons::create(&db.pool, &ctx, name).await.unwrap();
    }
    let names: Vec<String> = pause_reasons::list(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["almoço", "Banheiro", "Treinamento"]);
    assert!(matches!(
        pause_reasons::create(&db.pool, &ctx, "ALMOÇO").await,
        Err(CommandError::Conflict { .. })
    ));

    let c = classifications::create(&db.pool, &ctx, acme.id, "Cliente")
        .await
        .unwrap();
    assert_eq!(
        classifications::list(&db.pool, acme.id).await.unwrap(),
        std::slice::from_ref(&c)
    );
    assert!(matches!(
        classifications::create(&db.pool, &ctx, acme.id, "cliente").await,
        Err(CommandError::Conflict { existing_id: Some(id), .. }) if id == c.id
    ));
    assert_eq!(
        invalid_fields(classifications::create(&db.pool, &ctx, Uuid::new_v4(), "X").await),
        ["accountId"]
    );
    assert_eq!(
        invalid_fields(classifications::create(&db.pool, &ctx, acme.id, &"x".repeat(101)).await),
        ["name"]
    );
}

#[tokio::test]
async fn an_integration_token_is_returned_once_and_resolves_to_its_name() {
    let db = test_database().await;
    let ctx = admin();
    let token = integration_tokens::create(&db.pool, &ctx, "whatsapp-gateway")
        .await
        .unwrap();
    let actor = commands::auth::sessions::resolve_token(&db.pool, &token, Utc::now())
        .await
        .unwrap();
    assert!(
        matches!(actor, Some(Actor::Integration { ref name, .. }) if name == "whatsapp-gateway"),
        "{actor:?}"
    );
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM integration_tokens WHERE token_hash = $1")
            .bind(token.as_bytes())
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(stored, 0, "the token itself is never stored");
    let again = integration_tokens::create(&db.pool, &ctx, "whatsapp-gateway").await;
    assert!(
        matches!(again, Err(CommandError::Conflict { .. })),
        "{again:?}"
    );
}

#[tokio::test]
async fn every_change_is_audited_with_its_actor_and_time() {
    let db = test_database().await;
    let ctx = admin();
    let acme = account(&db.pool, &ctx, "Acme").await;
    let s = services::create(&db.pool, &ctx, service(acme.id, "Vendas", true))
        .await
        .unwrap();
    let t = tags::create(
        &db.pool,
        &ctx,
        tags::NewTag {
            account_id: acme.id,
            name: "VIP".into(),
            color: None,
        },
    )
    .await
    .unwrap();
    settings::update(
        &db.pool,
        &ctx,
        settings::SettingsPatch {
            allow_image_change: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // A rejected change leaves no trace.
    tags::create(
        &db.pool,
        &ctx,
        tags::NewTag {
            account_id: acme.id,
            name: "VIP".into(),
            color: None,
        },
    )
    .await
    .unwrap_err();

    let mut rows = audit::recent(&db.pool, 100).await.unwrap();
    rows.reverse();
    let actions: Vec<(&str, Option<Uuid>)> = rows
        .iter()
        .map(|r| (r.action.as_str(), r.entity_id))
        .collect();
    assert_eq!(
        actions,
        [
            ("account.created", Some(acme.id)),
            ("service.created", Some(s.id)),
            ("account.default_service_changed", Some(acme.id)),
            ("tag.created", Some(t.id)),
            ("settings.updated", None),
        ]
    );
    for r in &rows {
        assert_eq!(r.actor, ctx.actor.audit_name());
        assert_eq!(r.at.timestamp_micros(), ctx.now.timestamp_micros());
        assert_eq!(
            r.payload["correlationId"],
            serde_json::json!(ctx.correlation_id)
        );
    }
    assert_eq!(rows[0].payload["name"], "Acme");
    assert_eq!(rows[0].payload["timezone"], "America/Sao_Paulo");
    assert_eq!(rows[4].payload["changes"]["allowImageChange"], false);
}

#[tokio::test]
async fn a_role_change_or_deactivation_applies_to_a_token_used_a_moment_before() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, service) = app.account_with_service(&admin).await;
    let (agent_id, agent) = app.agent_in(service).await;
    let pause_reason = "mutation($n: String!) { createPauseReason(name: $n) { id } }";
    let name = || json!({"n": format!("Pausa {}", Uuid::new_v4().simple())});
    // Used as an AGENT (the resolved token is now cached): pause reasons are an admin's.
    let v = app.graphql(Some(&agent), pause_reason, name()).await;
    assert_eq!(error_code(&v), "FORBIDDEN", "{v:#}");

    let promote = json!({"id": agent_id, "i": {"role": "ADMIN"}});
    app.ok(Some(&admin), UPDATE_AGENT, promote).await;
    let v = app.graphql(Some(&agent), pause_reason, name()).await;
    assert!(v["errors"].is_null(), "promoted at once: {v:#}");

    let demote = json!({"id": agent_id, "i": {"role": "AGENT"}});
    app.ok(Some(&admin), UPDATE_AGENT, demote).await;
    let v = app.graphql(Some(&agent), pause_reason, name()).await;
    assert_eq!(error_code(&v), "FORBIDDEN", "demoted at once: {v:#}");

    let deactivate = json!({"id": agent_id, "i": {"active": false}});
    app.ok(Some(&admin), UPDATE_AGENT, deactivate).await;
    let v = app.graphql(Some(&agent), "{ me { id } }", json!({})).await;
    assert_eq!(
        error_code(&v),
        "UNAUTHENTICATED",
        "deactivated at once: {v:#}"
    );
}
