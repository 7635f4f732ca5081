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
