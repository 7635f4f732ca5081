//! Crash safety: a load of commands runs against a real server process that is killed with
//! SIGKILL at random points and restarted; afterwards every command the client saw succeed is in
//! the event log, and `replay --verify` finds the read models equal to a replay of the events.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use crate::helpers::app::{spawn_app, PASSWORD};
use crate::helpers::db::test_database;

/// Rounds of load, each ended by a SIGKILL.
const KILLS: usize = 3;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_agent-panel"))
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--pool-size",
            "6",
        ])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts")
}

async fn wait_ready(client: &reqwest::Client, port: u16) {
    for _ in 0..200 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
        {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come up");
}

#[tokio::test]
async fn no_acknowledged_command_is_lost_when_the_server_is_killed() {
    // Seed an admin, an account and an agent through an in-process app on the same database.
    let seed = spawn_app().await;
    let admin = seed.admin().await;
    let (account, service) = seed.account_with_service(&admin).await;
    let email = format!("crash-{}@example.com", Uuid::new_v4().simple());
    seed.register_agent(&email, domain::kinds::Role::Agent, vec![service])
        .await;
    let url = seed.db.url.clone();
    let _ = test_database; // the database above is this test's own

    let client = reqwest::Client::new();
    let mut acknowledged: Vec<String> = Vec::new();
    for round in 0..KILLS {
        let port = free_port();
        let mut server = start(&url, port);
        wait_ready(&client, port).await;
        let api = format!("http://127.0.0.1:{port}/graphql");
        let login = client
            .post(&api)
            .json(&json!({"query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
                          "variables": {"e": email, "p": PASSWORD}}))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        let token = login["data"]["login"]["token"]
            .as_str()
            .unwrap()
            .to_string();
        // Fire registrations from 8 clients and kill the server while they run.
        let mut tasks = Vec::new();
        for c in 0..8 {
            let (client, api, token) = (client.clone(), api.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let mut ok = Vec::new();
                for i in 0..1000 {
                    let q = "mutation($i: RegisterContactInput!) { registerContact(input: $i) { id } }";
                    let vars = json!({"i": {"accountId": account, "name": format!("Load {round}-{c}-{i}")}});
                    let res = client.post(&api).bearer_auth(&token).json(&json!({"query": q, "variables": vars})).send().await;
                    let Ok(res) = res else { break };
                    let Ok(body) = res.json::<serde_json::Value>().await else { break };
                    if let Some(id) = body["data"]["registerContact"]["id"].as_str() {
                        ok.push(id.to_string());
                    }
                }
                ok
            }));
        }
        let kill_after = 300 + (Uuid::new_v4().as_u128() % 700) as u64;
        tokio::time::sleep(Duration::from_millis(kill_after)).await;
        server.kill().expect("SIGKILL");
        let _ = server.wait();
        for t in tasks {
            acknowledged.extend(t.await.unwrap());
        }
    }
    assert!(!acknowledged.is_empty(), "the load ran");

    // Restart once more and let the projections settle.
    let port = free_port();
    let mut server = start(&url, port);
    wait_ready(&client, port).await;
    seed.state.projector().catch_up_all().await.unwrap();

    let stored: Vec<String> =
        sqlx::query_scalar("SELECT aggregate_id FROM events WHERE aggregate_type = 'Contact'")
            .fetch_all(&seed.db.pool)
            .await
            .unwrap();
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged contacts are not in the log",
        missing.len()
    );

    let verify = Command::new(env!("CARGO_BIN_EXE_agent-panel"))
        .args(["replay", "--verify"])
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success(),
        "replay --verify failed:\n{out}\n{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(
        out.contains("read models equal a replay of the events"),
        "{out}"
    );
    let _ = server.kill();
    let _ = server.wait();
}
