//! Routing end to end: the router's race (two routers, never one attendance twice, never over an
//! agent's limit), the portfolio agent first, waiting until someone logs in, logout → pending,
//! and session expiry parking too.
//!
//! Attendances are opened by executing the domain's commands directly, as a gateway's use case
//! would; agents log in and out over HTTP. Background work (projections, the router, the logout
//! reactor) is awaited with bounded polling, never with sleeps standing in for the clock.

use std::sync::Arc;
use std::time::Duration;

use commands::{Actor, CommandContext, CommandSettings, Commands};
use domain::attendance::{AttendanceCommand, Destination, InboundMessage, OpenInbound};
use domain::kinds::{ChannelType, Role};
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

use projections::replay::Mode;

use crate::helpers::app::{spawn_app, TestApp, PASSWORD};
use crate::helpers::rebuild::rebuild_projection;

/// How long background work may take before a test gives up.
const PATIENCE: Duration = Duration::from_secs(15);

/// Polls `check` until it returns Some, or panics after [`PATIENCE`] naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = std::time::Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(started.elapsed() < PATIENCE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Registers an AGENT of `service` with a concurrent limit, not logged in: (id, e-mail).
pub async fn agent_with_limit(app: &TestApp, service: Uuid, max_concurrent: i32) -> (Uuid, String) {
    let email = format!("agent-{}@example.com", Uuid::new_v4().simple());
    let ctx = CommandContext::new(Actor::System, "test", app.clock.now());
    let input = commands::agents::register::NewAgent {
        name: format!("Agent {email}"),
        email: email.clone(),
        password: PASSWORD.to_string(),
        role: Role::Agent,
        service_ids: vec![service],
        max_concurrent,
    };
    let id = commands::agents::register::register_agent(app.state.commands(), &ctx, input)
        .await
        .expect("agent registered");
    app.state
        .projector()
        .wait_for_stream("Agent", &id.to_string())
        .await
        .unwrap();
    (id, email)
}

/// Opens an inbound attendance WAITING in `service` for `contact`, now; returns its id.
pub async fn open_waiting(app: &TestApp, account: Uuid, service: Uuid, contact: Uuid) -> Uuid {
    let id = Uuid::new_v4();
    let now = app.clock.now();
    let command = AttendanceCommand::OpenInbound(OpenInbound {
        attendance_id: id,
        protocol: format!("T{}", &id.simple().to_string()[..12]),
        account_id: account,
        contact_id: contact,
        channel: ChannelType::Webchat,
        destination: Destination::Service(service),
        first_message: InboundMessage {
            message_id: Uuid::new_v4(),
            text: Some("Olá, preciso de ajuda".into()),
            attachments: vec![],
            external_id: None,
            at: now,
        },
        at: now,
    });
    let ctx = CommandContext::new(Actor::System, "test", now);
    commands::store::execute(&app.state.commands().attendances, id, command, &ctx)
        .await
        .expect("attendance opened");
    id
}

/// (status, agent) of an attendance in the routing read model, once it has one.
pub async fn place(app: &TestApp, id: Uuid) -> Option<(String, Option<Uuid>)> {
    sqlx::query("SELECT status, agent_id FROM routing_attendances WHERE attendance_id = $1")
        .bind(id)
        .fetch_optional(&app.db.pool)
        .await
        .unwrap()
        .map(|r| (r.get("status"), r.get("agent_id")))
}

/// Waits until the attendance is `status` (with `agent`, when given) in the routing read model.
pub async fn wait_for_place(app: &TestApp, id: Uuid, status: &str, agent: Option<Uuid>) {
    eventually(&format!("{id} to be {status} with {agent:?}"), || async {
        match place(app, id).await {
            Some((s, a)) if s == status && (agent.is_none() || a == agent) => Some(()),
            _ => None,
        }
    })
    .await;
}

/// The id a contact registered over the API gets, with `portfolio` as its portfolio agent.
async fn contact_with_portfolio(
    app: &TestApp,
    token: &str,
    account: Uuid,
    portfolio: Uuid,
) -> Uuid {
    let data = app
        .ok(
            Some(token),
            "mutation($i: RegisterContactInput!) { registerContact(input: $i) { id } }",
            json!({"i": {"accountId": account, "name": "Maria Souza", "portfolioAgentId": portfolio}}),
        )
        .await;
    data["registerContact"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn two_routers_racing_never_assign_an_attendance_twice_nor_exceed_a_limit() {
    const AGENTS: usize = 3;
    const LIMIT: i32 = 2;
    const ATTENDANCES: usize = 10;
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let mut agents = Vec::new();
    for _ in 0..AGENTS {
        agents.push(agent_with_limit(&app, service, LIMIT).await);
    }
    // Nobody is logged in yet: everything queues.
    let mut ids = Vec::new();
    for _ in 0..ATTENDANCES {
        ids.push(open_waiting(&app, account, service, Uuid::new_v4()).await);
        app.clock.advance(chrono::Duration::seconds(1));
    }
    for id in &ids {
        wait_for_place(&app, *id, "WAITING", None).await;
    }
    for (_, email) in &agents {
        app.login(email).await;
    }
    // Two more routers, each with its own use cases and pool, racing the server's own one.
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let pool = agent_panel::app::connect(&app.db.url, 4).await.unwrap();
        let c = Arc::new(Commands::new(
            pool,
            app.clock.clone(),
            CommandSettings::default(),
        ));
        tasks.push(tokio::spawn(async move {
            for _ in 0..5 {
                projections::routing::router::route_once(&c)
                    .await
                    .expect("a round");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let capacity = AGENTS * LIMIT as usize;
    let assigned: Vec<(String, i64)> = eventually("the agents to be full", || async {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT aggregate_id, count(*) FROM events WHERE event_type = 'AttendanceAssigned' GROUP BY aggregate_id",
        )
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
        (rows.len() == capacity).then_some(rows)
    })
    .await;
    assert!(
        assigned.iter().all(|(_, n)| *n == 1),
        "an attendance was assigned twice: {assigned:?}"
    );
    let per_agent: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT (payload->'AttendanceAssigned'->>'agent_id')::uuid, count(*) FROM events
          WHERE event_type = 'AttendanceAssigned' GROUP BY 1",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(per_agent.len(), AGENTS);
    assert!(
        per_agent.iter().all(|(_, n)| *n == i64::from(LIMIT)),
        "over a limit: {per_agent:?}"
    );
    let waiting: i64 =
        sqlx::query_scalar("SELECT count(*) FROM routing_attendances WHERE status = 'WAITING'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(waiting, (ATTENDANCES - capacity) as i64);
    // The oldest were served first: the ones still waiting are the last opened.
    for id in &ids[capacity..] {
        assert_eq!(place(&app, *id).await.unwrap().0, "WAITING");
    }
}

#[tokio::test]
async fn the_portfolio_agent_comes_first_and_otherwise_the_longest_idle() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (first, first_email) = agent_with_limit(&app, service, 3).await;
    let (portfolio, portfolio_email) = agent_with_limit(&app, service, 3).await;
    let first_token = app.login(&first_email).await;
    app.clock.advance(chrono::Duration::minutes(1));
    app.login(&portfolio_email).await;
    let contact = contact_with_portfolio(&app, &first_token, account, portfolio).await;
    app.state
        .projector()
        .wait_for_stream("Contact", &contact.to_string())
        .await
        .unwrap();

    let theirs = open_waiting(&app, account, service, contact).await;
    wait_for_place(&app, theirs, "IN_PROGRESS", Some(portfolio)).await;

    // Now the first agent has fewer in progress (none) and has been idle the longest.
    let anyone = open_waiting(&app, account, service, Uuid::new_v4()).await;
    wait_for_place(&app, anyone, "IN_PROGRESS", Some(first)).await;
}

#[tokio::test]
async fn an_attendance_waits_while_nobody_is_available_and_goes_to_the_agent_who_logs_in() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (agent, email) = agent_with_limit(&app, service, 1).await;
    let older = open_waiting(&app, account, service, Uuid::new_v4()).await;
    app.clock.advance(chrono::Duration::seconds(30));
    let newer = open_waiting(&app, account, service, Uuid::new_v4()).await;
    wait_for_place(&app, newer, "WAITING", None).await;
    // Give the router a full round's chance: still nobody to give them to.
    projections::routing::router::route_once(app.state.commands())
        .await
        .unwrap();
    assert_eq!(place(&app, older).await.unwrap().0, "WAITING");

    app.login(&email).await;
    // The oldest goes first, up to the agent's limit of one.
    wait_for_place(&app, older, "IN_PROGRESS", Some(agent)).await;
    projections::routing::router::route_once(app.state.commands())
        .await
        .unwrap();
    assert_eq!(place(&app, newer).await.unwrap().0, "WAITING");
}

#[tokio::test]
async fn logging_out_parks_the_agents_attendances_as_pending_with_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (agent, email) = agent_with_limit(&app, service, 2).await;
    let token = app.login(&email).await;
    let a = open_waiting(&app, account, service, Uuid::new_v4()).await;
    let b = open_waiting(&app, account, service, Uuid::new_v4()).await;
    wait_for_place(&app, a, "IN_PROGRESS", Some(agent)).await;
    wait_for_place(&app, b, "IN_PROGRESS", Some(agent)).await;

    app.ok(Some(&token), "mutation { logout }", json!({})).await;

    wait_for_place(&app, a, "PENDING", Some(agent)).await;
    wait_for_place(&app, b, "PENDING", Some(agent)).await;
    let by_logout: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE event_type = 'AttendanceMarkedPending'
            AND (payload->'AttendanceMarkedPending'->>'by_logout')::boolean AND metadata->>'causation_id' LIKE 'Agent/%'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(by_logout, 2);
    eventually("the to-do list to empty", || async {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM routing_park_todo")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        (left == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_expired_session_parks_too_and_a_stale_park_is_a_no_op() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (agent, email) = agent_with_limit(&app, service, 2).await;
    app.login(&email).await;
    let a = open_waiting(&app, account, service, Uuid::new_v4()).await;
    wait_for_place(&app, a, "IN_PROGRESS", Some(agent)).await;

    app.clock
        .advance(commands::auth::sessions::DEFAULT_SESSION_TTL + chrono::Duration::minutes(1));
    // The admin's session expires too.
    assert!(
        agent_panel::wiring::expire_sessions_once(&app.state)
            .await
            .unwrap()
            >= 1
    );
    wait_for_place(&app, a, "PENDING", Some(agent)).await;

    // A park asked again (a duplicate to-do, a second reactor) changes nothing and is not an error.
    let ctx = CommandContext::system(app.clock.now());
    let again =
        commands::attendances::park_on_logout::park_on_logout(app.state.commands(), &ctx, a, agent)
            .await;
    assert_eq!(
        again.unwrap(),
        commands::attendances::park_on_logout::Parked::NothingToDo
    );
}

#[tokio::test]
async fn a_rebuild_of_the_routing_model_matches_it_and_never_parks_a_rescued_attendance_again() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (agent, email) = agent_with_limit(&app, service, 2).await;
    let token = app.login(&email).await;
    let a = open_waiting(&app, account, service, Uuid::new_v4()).await;
    wait_for_place(&app, a, "IN_PROGRESS", Some(agent)).await;
    app.ok(Some(&token), "mutation { logout }", json!({})).await;
    wait_for_place(&app, a, "PENDING", Some(agent)).await;

    app.login(&email).await;
    app.state
        .projector()
        .wait_for_stream("Attendance", &a.to_string())
        .await
        .unwrap();
    let ctx = CommandContext::new(
        Actor::Agent {
            id: agent,
            role: Role::Agent,
            session_id: None,
        },
        "test",
        app.clock.now(),
    );
    commands::attendances::rescue::rescue(app.state.commands(), &ctx, a)
        .await
        .expect("rescued");
    wait_for_place(&app, a, "IN_PROGRESS", Some(agent)).await;

    let report = rebuild_projection(&app.db.pool, "routing", Mode::Verify).await;
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    let todo: i64 = sqlx::query_scalar("SELECT count(*) FROM routing_park_todo")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(todo, 0);
    assert_eq!(
        place(&app, a).await.unwrap(),
        ("IN_PROGRESS".to_string(), Some(agent))
    );
}

#[tokio::test]
async fn an_assignment_that_raced_the_agents_logout_is_parked_too() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (agent, email) = agent_with_limit(&app, service, 2).await;
    let token = app.login(&email).await;
    app.ok(Some(&token), "mutation { logout }", json!({})).await;
    let a = open_waiting(&app, account, service, Uuid::new_v4()).await;
    wait_for_place(&app, a, "WAITING", None).await;

    // A router that read the agent as ONLINE just before the logout was applied.
    let ctx = CommandContext::system(app.clock.now());
    commands::attendances::assign::assign(app.state.commands(), &ctx, a, agent)
        .await
        .unwrap();

    wait_for_place(&app, a, "PENDING", Some(agent)).await;
}

/// The attendances IN_PROGRESS with `agent` in the routing model, oldest first.
async fn in_progress_with(app: &TestApp, agent: Uuid) -> Vec<Uuid> {
    sqlx::query_scalar(
        "SELECT attendance_id FROM routing_attendances WHERE status = 'IN_PROGRESS' AND agent_id = $1
          ORDER BY opened_at, attendance_id",
    )
    .bind(agent)
    .fetch_all(&app.db.pool)
    .await
    .unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// Live, the routing projection applies events in small runs as they commit; a rebuild applies
/// the whole log in one run. Both must store the same rows, through every kind of move: the
/// router's assignments, pending and rescue, transfers to an agent and to a queue, a bulk
/// finalize, logouts that park, and an assignment that raced a logout.
#[tokio::test]
async fn the_routing_model_rebuilt_in_one_run_equals_the_one_built_as_events_came() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (one, one_email) = agent_with_limit(&app, service, 3).await;
    let (two, two_email) = agent_with_limit(&app, service, 3).await;
    let one_token = app.login(&one_email).await;
    let two_token = app.login(&two_email).await;
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(open_waiting(&app, account, service, Uuid::new_v4()).await);
    }
    eventually("six assignments", || async {
        let n = count(
            &app,
            "SELECT count(*) FROM routing_attendances WHERE status = 'IN_PROGRESS'",
        )
        .await;
        (n == 6).then_some(())
    })
    .await;
    let mine = in_progress_with(&app, one).await;
    let theirs = in_progress_with(&app, two).await;
    assert_eq!((mine.len(), theirs.len()), (3, 3));

    let act = |token: &str, query: &str, vars: serde_json::Value| {
        let token = token.to_string();
        let query = query.to_string();
        let app = &app;
        async move { app.ok(Some(&token), &query, vars).await }
    };
    act(
        &one_token,
        "mutation($a: UUID!) { markPending(attendanceId: $a) { id } }",
        json!({"a": mine[0]}),
    )
    .await;
    act(
        &one_token,
        "mutation($a: UUID!) { rescueAttendance(attendanceId: $a) { id } }",
        json!({"a": mine[0]}),
    )
    .await;
    act(
        &one_token,
        "mutation($a: UUID!, $to: UUID) { transferAttendance(attendanceId: $a, toAgentId: $to) { id } }",
        json!({"a": mine[1], "to": two}),
    )
    .await;
    act(
        &two_token,
        "mutation($a: UUID!, $s: UUID) { transferAttendance(attendanceId: $a, toServiceId: $s) { id } }",
        json!({"a": theirs[0], "s": service}),
    )
    .await;
    let bulk = act(
        &two_token,
        "mutation($ids: [UUID!]!) { finalizeAttendances(attendanceIds: $ids) { succeeded failed { attendanceId code } } }",
        json!({"ids": [theirs[1], theirs[2], mine[2]]}),
    )
    .await;
    assert_eq!(
        bulk["finalizeAttendances"]["succeeded"],
        json!([theirs[1], theirs[2]])
    );
    assert_eq!(
        bulk["finalizeAttendances"]["failed"][0]["attendanceId"],
        json!(mine[2])
    );

    act(&two_token, "mutation { logout }", json!({})).await;
    act(&one_token, "mutation { logout }", json!({})).await;
    let waiting: Uuid = eventually("an attendance left waiting", || async {
        sqlx::query_scalar(
            "SELECT attendance_id FROM routing_attendances WHERE status = 'WAITING' LIMIT 1",
        )
        .fetch_optional(&app.db.pool)
        .await
        .unwrap()
    })
    .await;
    // A router that read `one` as ONLINE just before the logout was applied.
    let ctx = CommandContext::system(app.clock.now());
    commands::attendances::assign::assign(app.state.commands(), &ctx, waiting, one)
        .await
        .unwrap();
    eventually("every attendance in hand to be parked", || async {
        let busy = count(
            &app,
            "SELECT (SELECT count(*) FROM routing_park_todo)
                  + (SELECT count(*) FROM routing_attendances WHERE status = 'IN_PROGRESS')",
        )
        .await;
        (busy == 0).then_some(())
    })
    .await;
    app.state.projector().catch_up_all().await.unwrap();

    let report = rebuild_projection(&app.db.pool, "routing", Mode::Verify).await;
    assert!(report.events >= 30, "{} events", report.events);
    assert!(report.differences.is_empty(), "{:#?}", report.differences);
    // And the counters agree with the statuses they are kept from.
    assert_eq!(
        count(
            &app,
            "SELECT COALESCE(sum(waiting), 0)::bigint FROM service_waiting_counts"
        )
        .await,
        count(
            &app,
            "SELECT count(*) FROM routing_attendances WHERE status = 'WAITING'"
        )
        .await
    );
    assert_eq!(
        count(
            &app,
            "SELECT COALESCE(sum(in_progress), 0)::bigint FROM agent_in_progress_counts"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COALESCE(sum(today), 0)::bigint FROM agent_daily_counters"
        )
        .await,
        count(&app, "SELECT count(*) FROM agent_daily_attendances").await
    );
}
