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
