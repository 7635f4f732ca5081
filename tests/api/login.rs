//! Logging in and out over HTTP: failed logins are throttled per e-mail and per client address
//! (RATE_LIMITED), the client address cannot be forged with `X-Forwarded-For` unless the peer is
//! a trusted proxy, the error never tells whether an e-mail exists, and a token dies with
//! `logout`.

use commands::auth::rate_limit::{MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_EMAIL};
use domain::kinds::Role;
use graphql::ApiSettings;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::app::{error_code, spawn_app, spawn_app_with, TestApp, PASSWORD};

const LOGIN: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";

/// One `login` over HTTP, optionally claiming to be forwarded for someone.
async fn attempt(app: &TestApp, email: &str, password: &str, forwarded_for: Option<&str>) -> Value {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({"query": LOGIN, "variables": {"e": email, "p": password}}));
    if let Some(hops) = forwarded_for {
        request = request.header("x-forwarded-for", hops);
    }
    request.send().await.unwrap().json().await.unwrap()
}

fn succeeded(v: &Value) -> bool {
    v["data"]["login"]["token"].is_string()
}

async fn agent(app: &TestApp) -> String {
    let email = format!("agent-{}@example.com", Uuid::new_v4().simple());
    app.register_agent(&email, Role::Agent, vec![]).await;
    email
}

fn unknown_email() -> String {
    format!("nobody-{}@example.com", Uuid::new_v4().simple())
}

/// The addresses failed logins were counted against.
async fn counted_addresses(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT DISTINCT address FROM login_failures ORDER BY address")
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_e_mail_get_the_same_error() {
    let app = spawn_app().await;
    let email = agent(&app).await;

    let wrong_password = attempt(&app, &email, "not the password", None).await;
    let unknown = attempt(&app, &unknown_email(), PASSWORD, None).await;

    assert_eq!(error_code(&wrong_password), "UNAUTHENTICATED");
    assert_eq!(
        wrong_password["errors"], unknown["errors"],
        "code, message, path and location are all the same"
    );
}

#[tokio::test]
async fn failed_logins_are_limited_per_e_mail_even_with_the_right_password_afterwards() {
    let app = spawn_app().await;
    let target = agent(&app).await;
    let colleague = agent(&app).await;

    for i in 0..MAX_FAILURES_PER_EMAIL {
        let v = attempt(&app, &target, "guess", None).await;
        assert_eq!(error_code(&v), "UNAUTHENTICATED", "attempt {i}");
    }
    let v = attempt(&app, &target, "guess", None).await;
    assert_eq!(error_code(&v), "RATE_LIMITED");
    // The limit is on the e-mail, whatever its case or spaces.
    let v = attempt(
        &app,
        &format!(" {} ", target.to_uppercase()),
        PASSWORD,
        None,
    )
    .await;
    assert_eq!(error_code(&v), "RATE_LIMITED");
    let v = attempt(&app, &target, PASSWORD, None).await;
    assert_eq!(
        error_code(&v),
        "RATE_LIMITED",
        "the right password is refused too"
    );

    // Another e-mail from the same address is under the address's higher limit.
    assert!(succeeded(&attempt(&app, &colleague, PASSWORD, None).await));
}

#[tokio::test]
async fn parallel_wrong_attempts_cannot_all_slip_under_the_limit() {
    let app = spawn_app().await;
    let target = agent(&app).await;
    let parallel = 3 * MAX_FAILURES_PER_EMAIL as usize;

    let answers =
        futures::future::join_all((0..parallel).map(|_| attempt(&app, &target, "guess", None)))
            .await;

    let codes: Vec<&str> = answers.iter().map(error_code).collect();
    let failed = codes.iter().filter(|c| **c == "UNAUTHENTICATED").count();
    let limited = codes.iter().filter(|c| **c == "RATE_LIMITED").count();
    assert_eq!(failed + limited, parallel, "{codes:?}");
    // Each attempt counts itself and all written before it, so a burst may see every attempt
    // refused, but never more than the limit tried.
    assert!(
        failed <= MAX_FAILURES_PER_EMAIL as usize,
        "at most {MAX_FAILURES_PER_EMAIL} passwords were tried: {codes:?}"
    );
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM login_failures WHERE email = $1")
        .bind(&target)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(recorded, failed as i64, "refused attempts are not failures");
}

#[tokio::test]
async fn failed_logins_are_limited_per_address_and_x_forwarded_for_is_ignored_by_default() {
    let app = spawn_app().await;
    let colleague = agent(&app).await;

    // Many e-mails from one address, each claiming another origin: the header is not believed.
    for i in 0..MAX_FAILURES_PER_ADDRESS - 1 {
        let forged = format!("198.51.100.{i}");
        let v = attempt(&app, &unknown_email(), "guess", Some(&forged)).await;
        assert_eq!(error_code(&v), "UNAUTHENTICATED", "attempt {i}");
    }
    // Still under the address's limit: a colleague logs in from the same address.
    assert!(succeeded(&attempt(&app, &colleague, PASSWORD, None).await));
    let v = attempt(&app, &unknown_email(), "guess", Some("203.0.113.99")).await;
    assert_eq!(
        error_code(&v),
        "UNAUTHENTICATED",
        "the last failure allowed"
    );

    let v = attempt(&app, &unknown_email(), "guess", Some("203.0.113.100")).await;
    assert_eq!(error_code(&v), "RATE_LIMITED");
    let v = attempt(&app, &colleague, PASSWORD, None).await;
    assert_eq!(
        error_code(&v),
        "RATE_LIMITED",
        "the address is used up for everyone"
    );
    assert_eq!(counted_addresses(&app).await, ["127.0.0.1"]);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_right_most_forwarded_hop_is_the_client() {
    let app = spawn_app_with(ApiSettings {
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        ..ApiSettings::default()
    })
    .await;
    let colleague = agent(&app).await;
    let attacker = "203.0.113.7";

    // The attacker rotates what it writes into the header; the proxy appends its real address.
    for i in 0..MAX_FAILURES_PER_ADDRESS {
        let hops = format!("10.9.8.{i}, {attacker}");
        let v = attempt(&app, &unknown_email(), "guess", Some(&hops)).await;
        assert_eq!(error_code(&v), "UNAUTHENTICATED", "attempt {i}");
    }
    let hops = format!("198.51.100.1, {attacker}");
    let v = attempt(&app, &colleague, PASSWORD, Some(&hops)).await;
    assert_eq!(error_code(&v), "RATE_LIMITED");
    assert_eq!(counted_addresses(&app).await, [attacker]);

    // A client elsewhere, behind the same proxy, is not affected.
    let v = attempt(&app, &colleague, PASSWORD, Some("198.51.100.1")).await;
    assert!(succeeded(&v), "{v:#}");
}

#[tokio::test]
async fn after_logout_the_token_is_unauthenticated() {
    let app = spawn_app().await;
    let email = agent(&app).await;
    let token = app.login(&email).await;
    let me = "{ me { email } }";
    assert_eq!(
        app.ok(Some(&token), me, json!({})).await["me"]["email"],
        email
    );

    let data = app.ok(Some(&token), "mutation { logout }", json!({})).await;
    assert_eq!(data["logout"], true);

    let v = app.graphql(Some(&token), me, json!({})).await;
    assert_eq!(error_code(&v), "UNAUTHENTICATED");
    let v = app
        .graphql(Some(&token), "mutation { logout }", json!({}))
        .await;
    assert_eq!(error_code(&v), "UNAUTHENTICATED");
    // A new login works.
    let fresh = app.login(&email).await;
    assert_ne!(fresh, token);
    assert_eq!(
        app.ok(Some(&fresh), me, json!({})).await["me"]["email"],
        email
    );
}
