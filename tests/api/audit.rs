//! The event log as the source of truth: audit history with metadata, time travel, replay and
//! verification, the append-only guard, poisoned events and late commits.

use chrono::Duration;
use projections::replay::Mode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::app::{error_code, spawn_app, TestApp};
use crate::helpers::rebuild::rebuild_projection;

const REGISTER: &str =
    "mutation($i: RegisterContactInput!) { registerContact(input: $i) { id version } }";

async fn contact(app: &TestApp, token: &str, account: Uuid, name: &str) -> String {
    let d = app
        .ok(
            Some(token),
            REGISTER,
            json!({"i": {"accountId": account, "name": name}}),
        )
        .await;
    d["registerContact"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn history_shows_each_event_with_actor_and_correlation_id_to_admins_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (agent_id, agent) = app.agent_in(service).await;
    let res = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&agent)
        .header("x-correlation-id", "req-42")
        .json(
            &json!({"query": REGISTER, "variables": {"i": {"accountId": account, "name": "Ana"}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-correlation-id"], "req-42");
    let body: serde_json::Value = res.json().await.unwrap();
    let id = body["data"]["registerContact"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let q = "query($id: UUID!) { history(aggregateType: CONTACT, aggregateId: $id) { totalCount nodes { sequence eventType eventVersion actor correlationId payload at } } }";
    let d = app.ok(Some(&admin), q, json!({"id": id})).await;
    let e = &d["history"]["nodes"][0];
    assert_eq!(d["history"]["totalCount"], 1);
    assert_eq!(e["eventType"], "ContactRegistered");
    assert_eq!(e["eventVersion"], "1.0");
    assert_eq!(e["actor"], agent_id.to_string());
    assert_eq!(e["correlationId"], "req-42");
    assert_eq!(e["payload"]["ContactRegistered"]["name"], "Ana");
    let forbidden = app.graphql(Some(&agent), q, json!({"id": id})).await;
    assert_eq!(error_code(&forbidden), "FORBIDDEN");
    // Secrets carried by events are never shown.
    let q = "query($id: UUID!) { history(aggregateType: AGENT, aggregateId: $id) { nodes { payload } } }";
    let d = app.ok(Some(&admin), q, json!({"id": agent_id})).await;
    assert_eq!(
        d["history"]["nodes"][0]["payload"]["AgentRegistered"]["password_hash"],
        "[redacted]"
    );
}

#[tokio::test]
async fn a_contact_as_of_an_instant_is_rebuilt_from_its_events() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    let before = app.clock.now();
    let id = contact(&app, &agent, account, "First Name").await;
    app.clock.advance(Duration::hours(1));
    let middle = app.clock.now();
    app.clock.advance(Duration::hours(1));
    app.ok(
        Some(&agent),
        "mutation($id: UUID!) { updateContact(id: $id, input: {name: \"Second Name\"}) { name } }",
        json!({"id": id}),
    )
    .await;
    let q = "query($id: UUID!, $at: DateTime!) { contactAsOf(id: $id, at: $at) { name version } }";
    let d = app
        .ok(Some(&admin), q, json!({"id": id, "at": middle}))
        .await;
    assert_eq!(d["contactAsOf"]["name"], "First Name");
    assert_eq!(d["contactAsOf"]["version"], 1);
    let d = app
        .ok(Some(&admin), q, json!({"id": id, "at": app.clock.now()}))
        .await;
    assert_eq!(d["contactAsOf"]["name"], "Second Name");
    let d = app
        .ok(
            Some(&admin),
            q,
            json!({"id": id, "at": before - Duration::seconds(1)}),
        )
        .await;
    assert!(d["contactAsOf"].is_null());
}

#[tokio::test]
async fn replay_verify_finds_a_tampered_read_model_and_replay_repairs_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    let id = contact(&app, &agent, account, "Original").await;
    contact(&app, &agent, account, "Another").await;
    let clean = rebuild_projection(&app.db.pool, "contacts", Mode::Verify).await;
    assert!(clean.differences.is_empty(), "{:?}", clean.differences);
    assert_eq!(clean.events, 2);

    sqlx::query("UPDATE contacts SET name = 'Tampered' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let dirty = rebuild_projection(&app.db.pool, "contacts", Mode::Verify).await;
    assert_eq!(dirty.differences.len(), 2, "{:?}", dirty.differences);

    rebuild_projection(&app.db.pool, "contacts", Mode::Swap).await;
    let name: String = sqlx::query_scalar("SELECT name FROM contacts WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(name, "Original");
    // The server keeps serving from the swapped-in tables.
    let d = app
        .ok(
            Some(&agent),
            "query($id: UUID!) { contact(id: $id) { name } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(d["contact"]["name"], "Original");
}

#[tokio::test]
async fn the_event_log_refuses_updates_and_deletes() {
    let app = spawn_app().await;
    app.admin().await;
    let update = sqlx::query("UPDATE events SET payload = '{}'")
        .execute(&app.db.pool)
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM events")
        .execute(&app.db.pool)
        .await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    let truncate = sqlx::query("TRUNCATE events").execute(&app.db.pool).await;
    assert!(truncate.is_err());
}

#[tokio::test]
async fn a_poisoned_event_stalls_only_its_projection_and_shows_in_ready() {
    let app = spawn_app().await;
    let bad_id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Contact', $1, 1, 'ContactRegistered', '1.0', '{\"ContactRegistered\": {\"nonsense\": true}}', '{}')",
    )
    .bind(bad_id.to_string())
    .execute(&app.db.pool)
    .await
    .unwrap();
    app.state.projector().kick();
    // Other projections and the commands go on: an agent registers and logs in.
    let admin = app.admin().await;
    assert!(!admin.is_empty());
    let mut failing = None;
    for _ in 0..100 {
        let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT failed_event, last_error FROM projection_checkpoints WHERE name = 'contacts'",
        )
        .fetch_optional(&app.db.pool)
        .await
        .unwrap();
        if let Some((Some(event), _)) = row {
            failing = Some(event);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(failing.unwrap(), format!("Contact/{bad_id}/1"));
    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["failing"][0]["projection"], "contacts");
}

#[tokio::test]
async fn an_event_committed_late_is_not_skipped() {
    let app = spawn_app().await;
    let pool = &app.db.pool;
    let insert = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                  VALUES ('Agent', $1, 1, 'AgentRegistered', '1.0', $2, '{}')";
    let payload = |id: Uuid, email: &str| {
        json!({"AgentRegistered": {"agent_id": id, "name": "Late", "email": email, "password_hash": "x",
               "role": "AGENT", "service_ids": [], "max_concurrent": 1, "at": "2026-11-27T15:00:00Z"}})
    };
    let (early, late) = (Uuid::new_v4(), Uuid::new_v4());
    // The first writer takes a position and stays open; a second one commits after it.
    let mut slow = pool.begin().await.unwrap();
    sqlx::query(insert)
        .bind(early.to_string())
        .bind(payload(early, "early@example.com"))
        .execute(&mut *slow)
        .await
        .unwrap();
    sqlx::query(insert)
        .bind(late.to_string())
        .bind(payload(late, "late@example.com"))
        .execute(pool)
        .await
        .unwrap();
    app.state.projector().catch_up_all().await.unwrap();
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM agents WHERE id = ANY($1)")
        .bind(vec![early, late])
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        seen, 0,
        "nothing after the open transaction may be applied before it"
    );
    slow.commit().await.unwrap();
    // Both are applied once settled. Transaction ids are shared by the whole cluster, so a
    // transaction of a test running beside this one in another database can hold them back a
    // moment longer: poll instead of expecting one pass to be enough.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen: i64 = 0;
    while std::time::Instant::now() < deadline {
        app.state.projector().catch_up_all().await.unwrap();
        seen = sqlx::query_scalar("SELECT count(*) FROM agents WHERE id = ANY($1)")
            .bind(vec![early, late])
            .fetch_one(pool)
            .await
            .unwrap();
        if seen == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        seen, 2,
        "both events are applied once their transactions ended"
    );
}

#[tokio::test]
async fn an_attendance_as_of_an_instant_shows_its_state_then() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    let c = contact(&app, &agent, account, "Cliente").await;
    let d = app
        .ok(
            Some(&agent),
            "mutation($i: OpenOutboundAttendanceInput!) { openOutboundAttendance(input: $i) { id } }",
            json!({"i": {"accountId": account, "contactId": c, "channel": "WHATSAPP", "destinationType": "SERVICE",
                         "serviceId": service, "message": {"text": "Olá"}}}),
        )
        .await;
    let id = d["openOutboundAttendance"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.clock.advance(Duration::minutes(10));
    let in_progress_at = app.clock.now();
    app.clock.advance(Duration::minutes(10));
    app.ok(
        Some(&agent),
        "mutation($id: UUID!) { markPending(attendanceId: $id) { id } }",
        json!({"id": id}),
    )
    .await;
    let q = "query($id: UUID!, $at: DateTime!) { attendanceAsOf(id: $id, at: $at) { status } }";
    let then = app
        .ok(Some(&admin), q, json!({"id": id, "at": in_progress_at}))
        .await;
    assert_eq!(then["attendanceAsOf"]["status"], "IN_PROGRESS");
    let now = app
        .ok(Some(&admin), q, json!({"id": id, "at": app.clock.now()}))
        .await;
    assert_eq!(now["attendanceAsOf"]["status"], "PENDING");
    let denied = app
        .graphql(Some(&agent), q, json!({"id": id, "at": in_progress_at}))
        .await;
    assert_eq!(error_code(&denied), "FORBIDDEN");
}

#[tokio::test]
async fn analytics_views_describe_each_attendance_and_presence() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (agent_id, agent) = app.agent_in(service).await;
    let c = contact(&app, &agent, account, "Cliente").await;
    let d = app
        .ok(
            Some(&agent),
            "mutation($i: OpenOutboundAttendanceInput!) { openOutboundAttendance(input: $i) { id } }",
            json!({"i": {"accountId": account, "contactId": c, "channel": "WHATSAPP", "destinationType": "SERVICE",
                         "serviceId": service, "message": {"text": "Olá"}}}),
        )
        .await;
    let id: Uuid = d["openOutboundAttendance"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    app.ok(
        Some(&agent),
        "mutation($id: UUID!) { markPending(attendanceId: $id) { id } }",
        json!({"id": id}),
    )
    .await;
    app.clock.advance(Duration::minutes(10));
    app.ok(
        Some(&agent),
        "mutation($id: UUID!) { rescueAttendance(attendanceId: $id) { id } }",
        json!({"id": id}),
    )
    .await;
    app.ok(
        Some(&agent),
        "mutation($ids: [UUID!]!) { finalizeAttendances(attendanceIds: $ids) { succeeded } }",
        json!({"ids": [id]}),
    )
    .await;
    let (agent_col, assigned, replied, pending, bulk, survey): (Option<Uuid>, bool, bool, i64, bool, bool) = sqlx::query_as(
        "SELECT agent_id, first_assigned_at = opened_at, first_agent_reply_at IS NOT NULL, pending_seconds,
                finalized_in_bulk, survey_requested
           FROM analytics.attendances WHERE attendance_id = $1",
    )
    .bind(id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(agent_col, Some(agent_id));
    assert!(assigned && replied);
    assert_eq!(pending, 600);
    assert!(bulk);
    assert!(!survey);
    let (n, finalized): (i64, i64) = sqlx::query_as(
        "SELECT attendances, finalized FROM analytics.daily_agent_figures WHERE agent_id = $1",
    )
    .bind(agent_id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!((n, finalized), (1, 1));
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM analytics.agent_presence_intervals WHERE agent_id = $1 AND ended_at IS NULL")
            .bind(agent_id)
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(kinds, vec!["LOGGED_IN".to_string()]);
    // A rebuild swaps new attendance tables in under the views: they read the new tables after.
    let rows = "SELECT coalesce(json_agg(a ORDER BY attendance_id)::text, '') FROM analytics.attendances a";
    let before: String = sqlx::query_scalar(rows)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    rebuild_projection(&app.db.pool, "attendances", Mode::Swap).await;
    let after: String = sqlx::query_scalar(rows)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(before, after);
    let (n, finalized): (i64, i64) = sqlx::query_as(
        "SELECT attendances, finalized FROM analytics.daily_agent_figures WHERE agent_id = $1",
    )
    .bind(agent_id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!((n, finalized), (1, 1));
}

/// A rebuild writes large batches with COPY, live projections write a few rows at a time with
/// upserts: both must store exactly the same rows, odd characters included.
#[tokio::test]
async fn a_bulk_rebuild_stores_the_same_rows_as_live_projection() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    let mut ids = Vec::new();
    for i in 0..40 {
        let odd = format!("Zé \\ \"aspas\" {i}");
        let d = app
            .ok(
                Some(&agent),
                REGISTER,
                json!({"i": {"accountId": account, "name": format!("Contato {i} {odd}"),
                             "phone": {"ddi": "55", "number": format!("119{:08}", 1000 + i)},
                             "email": format!("c{i}@example.com"), "birthDate": "1990-02-03",
                             "extra1": odd, "motherName": "Maria\\",
                             "addresses": [{"type": "RESIDENTIAL", "cep": "01310-100", "street": "Rua \"A\"\\B", "number": "1",
                                            "neighborhood": "Bela\\Vista", "city": "São Paulo", "uf": "SP"}]}}),
            )
            .await;
        ids.push(d["registerContact"]["id"].as_str().unwrap().to_string());
    }
    for id in ids.iter().take(34) {
        app.ok(
            Some(&agent),
            "mutation($i: OpenOutboundAttendanceInput!) { openOutboundAttendance(input: $i) { id } }",
            json!({"i": {"accountId": account, "contactId": id, "channel": "WHATSAPP", "destinationType": "SERVICE",
                         "serviceId": service, "message": {"text": "Olá\t\\ \"você\"\nlinha 2"}}}),
        )
        .await;
    }
    for name in ["contacts", "attendances"] {
        let report = rebuild_projection(&app.db.pool, name, Mode::Verify).await;
        assert!(report.events >= 34, "{name}: {} events", report.events);
        assert!(
            report.differences.is_empty(),
            "{name}: {:#?}",
            report.differences
        );
    }
}
