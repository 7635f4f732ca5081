//! Read models written in the statement that appends a command's events (`commands::inline`): the attendance's
//! rows are current when the command returns, the lane then skips what they hold, a stream whose
//! row is behind is left to the lane, and a failing read model never fails the command. The
//! rows stay equal to a rebuild from the log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use commands::inline::{Appending, Committed, InlineProjection};
use commands::store::execute;
use commands::{Clock, CommandContext, CommandSettings, Commands};
use domain::attendance::{
    Assign, Attendance, AttendanceCommand, Destination, InboundMessage, OpenInbound,
    ReceiveCustomerMessage,
};
use projections::attendances::AttendancesProjection;
use projections::replay::{rebuild, Mode};
use projections::Projector;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::db::test_database;

fn inbound(text: &str) -> InboundMessage {
    InboundMessage {
        message_id: Uuid::new_v4(),
        text: Some(text.into()),
        attachments: vec![],
        external_id: None,
        at: Utc::now(),
    }
}

fn open(id: Uuid) -> AttendanceCommand {
    AttendanceCommand::OpenInbound(OpenInbound {
        attendance_id: id,
        protocol: format!("I{}", &id.simple().to_string()[..12]),
        account_id: Uuid::new_v4(),
        contact_id: Uuid::new_v4(),
        channel: domain::kinds::ChannelType::Webchat,
        destination: Destination::Service(Uuid::new_v4()),
        first_message: inbound("Olá"),
        at: Utc::now(),
    })
}

fn assign() -> AttendanceCommand {
    AttendanceCommand::Assign(Assign {
        agent_id: Uuid::new_v4(),
        at: Utc::now(),
    })
}

fn customer_writes(text: &str) -> AttendanceCommand {
    AttendanceCommand::ReceiveCustomerMessage(ReceiveCustomerMessage {
        message: inbound(text),
        at: Utc::now(),
    })
}

/// A process's use cases, applying the attendances read model inline or not.
fn process(pool: &PgPool, inline: bool) -> Commands {
    let c = Commands::new(pool.clone(), Clock::system(), CommandSettings::default());
    if inline {
        c.apply_inline_to_attendances(Arc::new(AttendancesProjection));
    }
    c
}

/// The projections, not running (the test moves them), with their checkpoints in place.
async fn idle_projector(pool: &PgPool) -> Projector {
    let projector = Projector::new(pool.clone(), projections::all());
    sqlx::query("INSERT INTO projection_checkpoints (name) SELECT unnest($1::text[])")
        .bind(projector.names())
        .execute(pool)
        .await
        .unwrap();
    projector
}

/// The attendance's row as JSON, if it has one.
async fn row(pool: &PgPool, id: Uuid) -> Option<Value> {
    sqlx::query_scalar("SELECT to_jsonb(a) FROM attendances a WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .unwrap()
}

async fn messages(pool: &PgPool, id: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM attendance_messages WHERE attendance_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// How many events the attendance's stream holds.
async fn events_in(pool: &PgPool, id: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = $1")
        .bind(id.to_string())
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The log position of the stream's last event.
async fn stream_head(pool: &PgPool, id: Uuid) -> (i64, i64) {
    sqlx::query_as(
        "SELECT tx_id::text::bigint, position FROM events
          WHERE aggregate_type = 'Attendance' AND aggregate_id = $1 ORDER BY sequence DESC LIMIT 1",
    )
    .bind(id.to_string())
    .fetch_one(pool)
    .await
    .unwrap()
}

fn last_commit(ctx: &CommandContext) -> Committed {
    ctx.journal.commits().pop().expect("a commit was recorded")
}

/// Runs the lanes until the attendances lane has passed the stream's last event (a transaction
/// of a test in another database can hold events back a moment: transaction ids are shared).
async fn lanes_pass(projector: &Projector, pool: &PgPool, id: Uuid) {
    let head = stream_head(pool, id).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        projector.catch_up_all().await.unwrap();
        let at: (i64, i64) = sqlx::query_as(
            "SELECT tx_id::text::bigint, position FROM projection_checkpoints WHERE name = 'attendances'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if at >= head {
            return;
        }
        assert!(Instant::now() < deadline, "the lane never reached {head:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn rebuild_differences(pool: &PgPool) -> Vec<String> {
    rebuild(pool, Arc::new(AttendancesProjection), Mode::Verify)
        .await
        .unwrap()
        .differences
}

#[tokio::test]
async fn a_command_brings_its_attendance_rows_up_to_date_and_the_lane_skips_them() {
    let db = test_database().await;
    let pool = &db.pool;
    let projector = idle_projector(pool).await;
    let c = process(pool, true);
    let ctx = CommandContext::system(Utc::now());
    let id = Uuid::new_v4();

    execute(&c.attendances, id, open(id), &ctx).await.unwrap();
    let opened = row(pool, id).await.expect("the row, with no lane running");
    assert_eq!(opened["version"], events_in(pool, id).await);
    assert_eq!(opened["status"], "WAITING");
    assert_eq!(messages(pool, id).await, 1);
    let commit = last_commit(&ctx);
    assert_eq!(commit.applied_inline, vec!["attendances"]);
    assert_eq!(commit.aggregate_ids, vec![id.to_string()]);
    assert_eq!(
        commit.event_types,
        vec!["AttendanceOpened", "CustomerMessageReceived"]
    );
    let head = stream_head(pool, id).await;
    assert_eq!((commit.head.tx_id, commit.head.position), head);

    execute(&c.attendances, id, assign(), &ctx).await.unwrap();
    execute(&c.attendances, id, customer_writes("Oi?"), &ctx)
        .await
        .unwrap();
    let current = row(pool, id).await.unwrap();
    assert_eq!(current["version"], events_in(pool, id).await);
    assert_eq!(current["status"], "IN_PROGRESS");
    assert_eq!(current["message_count"], 2);
    assert_eq!(messages(pool, id).await, 2);
    // A verify while the lane is behind compares at the log's head, not at the lane's
    // checkpoint: the rows written inline are not differences, and it leaves them as they are.
    let differences = rebuild_differences(pool).await;
    assert!(differences.is_empty(), "{differences:#?}");
    assert_eq!(row(pool, id).await.unwrap(), current);

    // The lane reads the three events and finds them applied: nothing changes, nothing doubles.
    lanes_pass(&projector, pool, id).await;
    assert_eq!(row(pool, id).await.unwrap(), current);
    assert_eq!(messages(pool, id).await, 2);
    let differences = rebuild_differences(pool).await;
    assert!(differences.is_empty(), "{differences:#?}");
}

#[tokio::test]
async fn a_stream_whose_row_is_behind_is_left_to_the_lane() {
    let db = test_database().await;
    let pool = &db.pool;
    let projector = idle_projector(pool).await;
    let inline = process(pool, true);
    let plain = process(pool, false);
    let ctx = CommandContext::system(Utc::now());
    let id = Uuid::new_v4();

    execute(&inline.attendances, id, open(id), &ctx)
        .await
        .unwrap();
    let opened = events_in(pool, id).await;
    // Another process, which does not apply the read model, writes the next event.
    execute(&plain.attendances, id, assign(), &ctx)
        .await
        .unwrap();
    assert!(last_commit(&ctx).applied_inline.is_empty());
    // The one after cannot go on a row that stands before both: it is left to the lane, not
    // applied over the gap.
    execute(&inline.attendances, id, customer_writes("Oi?"), &ctx)
        .await
        .unwrap();
    assert!(last_commit(&ctx).applied_inline.is_empty());
    let behind = row(pool, id).await.unwrap();
    assert_eq!(behind["version"], opened);
    assert_eq!(behind["status"], "WAITING");
    assert_eq!(messages(pool, id).await, 1);

    lanes_pass(&projector, pool, id).await;
    let caught_up = row(pool, id).await.unwrap();
    assert_eq!(caught_up["version"], opened + 2);
    assert_eq!(caught_up["status"], "IN_PROGRESS");
    assert_eq!(caught_up["message_count"], 2);
    assert_eq!(messages(pool, id).await, 2);
    let differences = rebuild_differences(pool).await;
    assert!(differences.is_empty(), "{differences:#?}");
}

/// A read model whose part of the append statement fails (a division by zero).
struct Failing;

impl InlineProjection<Attendance> for Failing {
    fn name(&self) -> &'static str {
        "failing"
    }

    fn ctes(&self) -> &str {
        "applied AS (SELECT (1 / 0)::text AS id)"
    }

    fn parameters(&self, _streams: &[Appending<'_, Attendance>]) -> anyhow::Result<Vec<String>> {
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn a_failing_inline_read_model_never_fails_the_command() {
    let db = test_database().await;
    let pool = &db.pool;
    let projector = idle_projector(pool).await;
    let c = Commands::new(pool.clone(), Clock::system(), CommandSettings::default());
    c.apply_inline_to_attendances(Arc::new(Failing));
    let ctx = CommandContext::system(Utc::now());
    let id = Uuid::new_v4();

    execute(&c.attendances, id, open(id), &ctx).await.unwrap();
    let commit_events = events_in(pool, id).await;
    let commit = last_commit(&ctx);
    assert!(commit.applied_inline.is_empty());
    assert_eq!(
        (commit.head.tx_id, commit.head.position),
        stream_head(pool, id).await
    );
    assert!(
        row(pool, id).await.is_none(),
        "nothing of the failed application"
    );
    // The command goes on, once, on the state it committed.
    execute(&c.attendances, id, assign(), &ctx).await.unwrap();
    assert_eq!(events_in(pool, id).await, commit_events + 1);

    lanes_pass(&projector, pool, id).await;
    assert_eq!(row(pool, id).await.unwrap()["status"], "IN_PROGRESS");
}

#[tokio::test]
async fn a_bulk_commit_applies_every_stream_inline() {
    let db = test_database().await;
    let pool = &db.pool;
    let c = process(pool, true);
    let ctx = CommandContext::system(Utc::now());
    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    for id in &ids {
        execute(&c.attendances, *id, open(*id), &ctx).await.unwrap();
    }
    let bulk = CommandContext::system(Utc::now());
    let commands = ids.iter().map(|id| (*id, assign())).collect();
    let outcomes = commands::store::execute_each(
        &c.attendances,
        &c.attendance_store,
        commands,
        Attendance::decide,
        &bulk,
    )
    .await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let commit = last_commit(&bulk);
    assert_eq!(commit.applied_inline, vec!["attendances"]);
    assert_eq!(commit.aggregate_ids.len(), 5);
    for id in &ids {
        let r = row(pool, *id).await.unwrap();
        assert_eq!(r["version"], events_in(pool, *id).await);
        assert_eq!(r["status"], "IN_PROGRESS");
    }
}
