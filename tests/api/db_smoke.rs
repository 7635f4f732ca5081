//! The test database helper itself: each test gets its own migrated database.

use crate::helpers::db::{test_database, MIGRATOR};

#[tokio::test]
async fn a_test_database_answers_queries() {
    let db = test_database().await;
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(one, 1);
}

#[tokio::test]
async fn each_test_gets_a_database_of_its_own() {
    let first = test_database().await;
    let second = test_database().await;
    assert_ne!(first.url, second.url);
    let name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&second.pool)
        .await
        .unwrap();
    assert!(second.url.ends_with(&name), "{} is not {name}", second.url);
}

#[tokio::test]
async fn a_test_database_has_every_migration_applied() {
    let db = test_database().await;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let known = MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .count();
    assert_eq!(applied, i64::try_from(known).unwrap());
}

/// The `events` wake-up names the aggregate types each statement wrote, once each, so a process
/// wakes only the projections that read them.
#[tokio::test]
async fn the_events_notification_names_the_types_written() {
    let db = test_database().await;
    let mut listener = sqlx::postgres::PgListener::connect_with(&db.pool)
        .await
        .unwrap();
    listener.listen("events").await.unwrap();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         SELECT t, gen_random_uuid()::text, 1, 'Noted', '1.0', '{}', '{}'
           FROM unnest(ARRAY['Contact', 'Agent', 'Contact']) t",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let payload = listener.recv().await.unwrap().payload().to_string();
    let mut types: Vec<&str> = payload.split(',').collect();
    types.sort_unstable();
    assert_eq!(types, ["Agent", "Contact"]);
}

/// The server's pools hand out a busy connection unchecked (`commands::db::pool_options`), but
/// one that sat idle is checked first: a connection the server lost meanwhile is replaced, not
/// handed to a command.
#[tokio::test]
async fn a_connection_lost_while_idle_is_replaced_before_use() {
    let db = test_database().await;
    let pool = agent_panel::app::connect(&db.url, 1).await.unwrap();
    let first: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(ended);
    tokio::time::sleep(commands::db::UNCHECKED_IDLE + std::time::Duration::from_millis(300)).await;
    let second: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .expect("the lost connection was replaced");
    assert_ne!(first, second);
}
