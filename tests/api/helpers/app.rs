//! A real server per test: its own database, a manual clock, bound on a free loopback port, and
//! a client speaking GraphQL over HTTP.

use std::net::SocketAddr;

use agent_panel::{App, AppConfig};
use chrono::{DateTime, TimeZone, Utc};
use commands::{Actor, Clock, CommandContext, CommandSettings};
use domain::kinds::Role;
use graphql::{ApiSettings, ApiState};
use serde_json::{json, Value};
use uuid::Uuid;

use super::db::{test_database, TestDatabase};

/// The instant every test's clock starts at: a Friday noon in São Paulo.
pub fn start_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 15, 0, 0).unwrap()
}

/// The password every test agent gets.
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub db: TestDatabase,
    pub clock: Clock,
    pub state: ApiState,
}

/// Starts a server on a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(ApiSettings::default()).await
}

/// Starts a server on a fresh database with these API settings (e.g. trusted proxies).
pub async fn spawn_app_with(api: ApiSettings) -> TestApp {
    spawn_on(test_database().await, Clock::manual(start_instant()), api).await
}

/// Starts a server on a database prepared elsewhere (e.g. by the `agent-panel` binary).
pub async fn spawn_app_on(db: TestDatabase) -> TestApp {
    spawn_on(db, Clock::manual(start_instant()), ApiSettings::default()).await
}

/// A second server instance on the same database (and clock) as `other`.
pub async fn spawn_second(other: &TestApp) -> TestApp {
    spawn_on(
        other.db.clone(),
        other.clock.clone(),
        ApiSettings::default(),
    )
    .await
}

async fn spawn_on(db: TestDatabase, clock: Clock, api: ApiSettings) -> TestApp {
    let config = AppConfig {
        database_url: db.url.clone(),
        bind: "127.0.0.1:0".parse().unwrap(),
        pool_size: 8,
        clock: clock.clone(),
        commands: CommandSettings::default(),
        api,
    };
    let app = App::build(config).await.expect("the app builds");
    let address = app.local_addr();
    let state = app.state.clone();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        address,
        client: reqwest::Client::new(),
        db,
        clock,
        state,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// POSTs a GraphQL request and returns the whole JSON response (`data` and `errors`).
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request sent");
        res.json().await.expect("a JSON response")
    }

    /// Like [`TestApp::graphql`], but panics on errors and returns `data`.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let v = self.graphql(token, query, variables).await;
        assert!(v.get("errors").is_none(), "unexpected errors: {v:#}");
        v["data"].clone()
    }

    /// Registers an agent directly through the use case (no admin needed) and returns its id.
    pub async fn register_agent(&self, email: &str, role: Role, service_ids: Vec<Uuid>) -> Uuid {
        let ctx = CommandContext::new(Actor::System, "test", self.clock.now());
        let input = commands::agents::register::NewAgent {
            name: format!("Agent {email}"),
            email: email.to_string(),
            password: PASSWORD.to_string(),
            role,
            service_ids,
            max_concurrent: 5,
        };
        let id = commands::agents::register::register_agent(self.state.commands(), &ctx, input)
            .await
            .expect("agent registered");
        self.state
            .projector()
            .wait_for_stream("Agent", &id.to_string())
            .await
            .unwrap();
        id
    }

    /// Logs in over HTTP and returns the bearer token.
    pub async fn login(&self, email: &str) -> String {
        let data = self
            .ok(
                None,
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
                json!({"e": email, "p": PASSWORD}),
            )
            .await;
        data["login"]["token"].as_str().unwrap().to_string()
    }

    /// A logged-in administrator's token.
    pub async fn admin(&self) -> String {
        let email = format!("admin-{}@example.com", Uuid::new_v4().simple());
        self.register_agent(&email, Role::Admin, vec![]).await;
        self.login(&email).await
    }

    /// Creates an account with one default service through the API; returns (account, service).
    pub async fn account_with_service(&self, admin: &str) -> (Uuid, Uuid) {
        let a = self
            .ok(
                Some(admin),
                "mutation { createAccount(input: {name: \"Acme\"}) { id } }",
                json!({}),
            )
            .await;
        let account: Uuid = a["createAccount"]["id"].as_str().unwrap().parse().unwrap();
        let s = self
            .ok(
                Some(admin),
                "mutation($a: UUID!) { createService(input: {accountId: $a, name: \"Support\", default: true}) { id } }",
                json!({"a": account}),
            )
            .await;
        (
            account,
            s["createService"]["id"].as_str().unwrap().parse().unwrap(),
        )
    }

    /// An AGENT in `service` (logged in): (id, token).
    pub async fn agent_in(&self, service: Uuid) -> (Uuid, String) {
        let email = format!("agent-{}@example.com", Uuid::new_v4().simple());
        let id = self
            .register_agent(&email, Role::Agent, vec![service])
            .await;
        (id, self.login(&email).await)
    }
}

/// The `extensions.code` of the first error.
pub fn error_code(v: &Value) -> &str {
    v["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {v:#}"))
}
