//! The agent's counters (items 9–11) over HTTP: their values as attendances wait, are assigned
//! and park; FORBIDDEN for agents while the administrator hides statistics; and the day they
//! count in, São Paulo's, rolling over at local midnight with no restart.

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::app::{error_code, spawn_app, TestApp};
use crate::routing::{agent_with_limit, eventually, open_waiting, wait_for_place};

const COUNTERS: &str = "{ counters { day waiting inProgress today } }";

/// Waits until the caller's counters are `expected` (they follow the events asynchronously).
async fn counters_become(app: &TestApp, token: &str, expected: Value) {
    let mut last = Value::Null;
    let found = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            last = app.ok(Some(token), COUNTERS, json!({})).await["counters"].clone();
            if last == expected {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        found.is_ok(),
        "counters stayed {last:#}, expected {expected:#}"
    );
}

#[tokio::test]
async fn counters_show_the_queue_my_attendances_in_progress_and_those_i_handled_today() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (agent, email) = agent_with_limit(&app, service, 2).await;
    let token = app.login(&email).await;
    counters_become(
        &app,
        &token,
        json!({"day": "2026-11-27", "waiting": 0, "inProgress": 0, "today": 0}),
    )
    .await;

    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(open_waiting(&app, account, service, Uuid::new_v4()).await);
        app.clock.advance(chrono::Duration::seconds(1));
    }
    wait_for_place(&app, ids[1], "IN_PROGRESS", Some(agent)).await;
    counters_become(
        &app,
        &token,
        json!({"day": "2026-11-27", "waiting": 1, "inProgress": 2, "today": 2}),
    )
    .await;

    // Logging out parks both; the third, still waiting, is nobody's. Handled today stays 2.
    app.ok(Some(&token), "mutation { logout }", json!({})).await;
    wait_for_place(&app, ids[0], "PENDING", Some(agent)).await;
    wait_for_place(&app, ids[1], "PENDING", Some(agent)).await;
    let token = app.login(&email).await;
    // Back online with room for one more: the waiting one comes to them.
    wait_for_place(&app, ids[2], "IN_PROGRESS", Some(agent)).await;
    counters_become(
        &app,
        &token,
        json!({"day": "2026-11-27", "waiting": 0, "inProgress": 1, "today": 3}),
    )
    .await;
}

#[tokio::test]
async fn counters_are_forbidden_to_agents_while_statistics_are_hidden() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    app.ok(
        Some(&admin),
        "mutation { updateSettings(input: {showStatistics: false}) { showStatistics } }",
        json!({}),
    )
    .await;

    let refused = app.graphql(Some(&agent), COUNTERS, json!({})).await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    // Administrators (and supervisors) still see theirs.
    app.ok(Some(&admin), COUNTERS, json!({})).await;

    app.ok(
        Some(&admin),
        "mutation { updateSettings(input: {showStatistics: true}) { showStatistics } }",
        json!({}),
    )
    .await;
    app.ok(Some(&agent), COUNTERS, json!({})).await;
}

#[tokio::test]
async fn today_is_sao_paulos_day_of_opening_and_rolls_over_at_local_midnight() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    // 23:59 on Friday 27 November in São Paulo (UTC-3).
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 28, 2, 59, 0).unwrap());
    let (agent, email) = agent_with_limit(&app, service, 5).await;
    let token = app.login(&email).await;

    let late = open_waiting(&app, account, service, Uuid::new_v4()).await;
    wait_for_place(&app, late, "IN_PROGRESS", Some(agent)).await;
    counters_become(
        &app,
        &token,
        json!({"day": "2026-11-27", "waiting": 0, "inProgress": 1, "today": 1}),
    )
    .await;

    // 00:01 on the 28th: a new day, and yesterday's attendance, still running, is not today's.
    app.clock.advance(chrono::Duration::minutes(2));
    counters_become(
        &app,
        &token,
        json!({"day": "2026-11-28", "waiting": 0, "inProgress": 1, "today": 0}),
    )
    .await;

    let early = open_waiting(&app, account, service, Uuid::new_v4()).await;
    wait_for_place(&app, early, "IN_PROGRESS", Some(agent)).await;
    counters_become(
        &app,
        &token,
        json!({"day": "2026-11-28", "waiting": 0, "inProgress": 2, "today": 1}),
    )
    .await;
    let yesterday: i32 = eventually("the 27th's row", || async {
        sqlx::query_scalar(
            "SELECT today FROM agent_daily_counters WHERE agent_id = $1 AND day = '2026-11-27'",
        )
        .bind(agent)
        .fetch_optional(&app.db.pool)
        .await
        .unwrap()
    })
    .await;
    assert_eq!(yesterday, 1);
}

/// Read-your-writes: `markPending` and `rescueAttendance` answer without waiting for the routing
/// projection, and the same agent's next `counters` (one read, no polling) waits for it instead.
#[tokio::test]
async fn my_counters_right_after_my_own_pending_and_rescue_show_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (agent, email) = agent_with_limit(&app, service, 1).await;
    let token = app.login(&email).await;
    let id = open_waiting(&app, account, service, Uuid::new_v4()).await;
    wait_for_place(&app, id, "IN_PROGRESS", Some(agent)).await;
    counters_become(
        &app,
        &token,
        json!({"day": "2026-11-27", "waiting": 0, "inProgress": 1, "today": 1}),
    )
    .await;
    for round in 0..10 {
        app.ok(
            Some(&token),
            "mutation($a: UUID!) { markPending(attendanceId: $a) { status } }",
            json!({"a": id}),
        )
        .await;
        let counters = app.ok(Some(&token), COUNTERS, json!({})).await["counters"].clone();
        assert_eq!(counters["inProgress"], 0, "round {round} after markPending");
        app.ok(
            Some(&token),
            "mutation($a: UUID!) { rescueAttendance(attendanceId: $a) { status } }",
            json!({"a": id}),
        )
        .await;
        let counters = app.ok(Some(&token), COUNTERS, json!({})).await["counters"].clone();
        assert_eq!(counters["inProgress"], 1, "round {round} after the rescue");
        assert_eq!(
            counters["today"], 1,
            "a rescue is not a second attendance today"
        );
    }
}
