//! Rebuilding read models from the event log while the server keeps serving.
//!
//! A projection's tables are recreated empty in a shadow schema (`CREATE TABLE … (LIKE …
//! INCLUDING ALL)`), and the projection is run over the whole log with that schema first on the
//! `search_path`, so its unqualified SQL writes the shadow tables and reads the live ones for
//! anything it does not own. The rebuild follows the live checkpoint: it applies events up to
//! where the live projection stands, then takes the live projection's lock (pausing it, never
//! the commands), applies the last few, and either
//! - swaps: renames the live tables away and moves the shadow ones in, in the same transaction
//!   (readers see the old tables until the commit and the new ones after; never a mix; views
//!   over the tables are recreated over the new ones, [`crate::dependent_views`]), or
//! - verifies: brings the live tables, inside its transaction, to the head of the log as the
//!   live projection would (rows that commands wrote inline can stand past its checkpoint),
//!   applies the shadow as far, compares every row both ways (`EXCEPT`), reports each
//!   difference and rolls back.
//!
//! Reading the log and applying it overlap (two connections), and the shadow transactions
//! commit without waiting for the disk: a crash loses only the unfinished rebuild.
//! Projections that read their own rows by key only are loaded in batches with their unique
//! indexes alone; the other indexes are built once the log is in, before the final step.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;

use sqlx::{PgConnection, PgPool, Row};

use crate::dependent_views;
use crate::log::{read_after, settled_head, Checkpoint, StoredEvent, LOG_READS_BY_INDEX};
use crate::projection::Projection;

/// Events applied per shadow transaction.
const REPLAY_BATCH: i64 = 10_000;

/// Writers applying a projection whose streams replay independently (one per core here).
const WRITERS: usize = 2;

/// Most differing rows listed per table by `--verify`.
const MAX_LISTED_DIFFERENCES: i64 = 50;

/// What a rebuild did.
#[derive(Debug, Clone, Default)]
pub struct ReplayReport {
    pub projection: String,
    pub events: u64,
    pub seconds: f64,
    /// Rows that differ between the live tables and the rebuild (verify only).
    pub differences: Vec<String>,
}

/// Rebuild and swap in, or rebuild and compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Swap,
    Verify,
}

async fn live_checkpoint(
    conn: &mut PgConnection,
    name: &str,
    lock: bool,
) -> anyhow::Result<Checkpoint> {
    if lock {
        // The live projection's own lock (`lane_tx::LaneTx::begin`): it pauses until we commit.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('projection:' || $1))")
            .bind(name)
            .execute(&mut *conn)
            .await?;
    }
    let sql =
        "SELECT tx_id::text::bigint AS tx, position FROM projection_checkpoints WHERE name = $1";
    let row = sqlx::query(sql)
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row
        .map(|r| -> Result<Checkpoint, sqlx::Error> {
            Ok(Checkpoint {
                tx_id: r.try_get("tx")?,
                position: r.try_get("position")?,
            })
        })
        .transpose()?
        .unwrap_or_default())
}

/// The next batch of settled events after `from`, none past `until`.
async fn read_until(
    conn: &mut PgConnection,
    types: &[&str],
    from: Checkpoint,
    until: Checkpoint,
) -> anyhow::Result<Vec<StoredEvent>> {
    let mut events = read_after(conn, from, types, REPLAY_BATCH).await?;
    events.retain(|e| e.checkpoint <= until);
    Ok(events)
}

/// [`read_until`] in a transaction of its own that plans the read by index
/// ([`LOG_READS_BY_INDEX`]; from the start of a 1,000,000-event log the planner sorted the whole
/// type for the first batch: about a second, against milliseconds by the index).
async fn read_in_log_order(
    pool: &PgPool,
    types: &[&str],
    from: Checkpoint,
    until: Checkpoint,
) -> anyhow::Result<Vec<StoredEvent>> {
    let mut tx = pool.begin().await?;
    sqlx::query(&format!("SELECT {LOG_READS_BY_INDEX}"))
        .execute(&mut *tx)
        .await?;
    let events = read_until(&mut tx, types, from, until).await?;
    tx.commit().await?;
    Ok(events)
}

/// Applies `events` (not empty) to the shadow schema's tables, in the caller's transaction.
async fn apply_in_shadow(
    tx: &mut PgConnection,
    p: &dyn Projection,
    schema: &str,
    events: &[StoredEvent],
) -> anyhow::Result<()> {
    sqlx::query(&format!("SET LOCAL search_path TO \"{schema}\", public"))
        .execute(&mut *tx)
        .await?;
    p.apply_batch(tx, events).await.map_err(|err| {
        err.context(format!(
            "replaying the events from {} to {}",
            events[0].identity(),
            events[events.len() - 1].identity()
        ))
    })
}

/// Applies one batch of events after `from` and up to `until` into the shadow schema; returns
/// the new position and how many were applied (0: nothing left up to `until`).
async fn apply_into(
    tx: &mut PgConnection,
    p: &dyn Projection,
    schema: &str,
    from: Checkpoint,
    until: Checkpoint,
) -> anyhow::Result<(Checkpoint, u64)> {
    let events = read_until(&mut *tx, p.aggregate_types(), from, until).await?;
    let Some(last) = events.last().map(|e| e.checkpoint) else {
        return Ok((from, 0));
    };
    apply_in_shadow(tx, p, schema, &events).await?;
    Ok((last, events.len() as u64))
}

/// Applies to the live tables, inside the caller's transaction (which holds the live
/// projection's lock), the events after its checkpoint `from` up to the settled head of the log,
/// as its lane would; returns the position reached.
async fn catch_up_live(
    tx: &mut PgConnection,
    p: &dyn Projection,
    from: Checkpoint,
) -> anyhow::Result<Checkpoint> {
    sqlx::query(&format!("SELECT {LOG_READS_BY_INDEX}"))
        .execute(&mut *tx)
        .await?;
    let Some(head) = settled_head(&mut *tx).await? else {
        return Ok(from);
    };
    let mut at = from;
    loop {
        let events = read_until(&mut *tx, p.aggregate_types(), at, head).await?;
        let Some(last) = events.last().map(|e| e.checkpoint) else {
            return Ok(head.max(at));
        };
        p.apply_batch(&mut *tx, &events).await?;
        at = last;
    }
}

/// Applies every event after `from` up to `until` into the shadow schema, one transaction per
/// batch, while a second connection reads the next batches (reading and applying overlap).
/// A projection whose streams replay independently is applied by [`WRITERS`] writers, each
/// taking the streams that hash to it, in log order, on a connection of its own.
/// Returns the new position and how many events were applied.
async fn follow(
    pool: &PgPool,
    p: &Arc<dyn Projection>,
    schema: &str,
    from: Checkpoint,
    until: Checkpoint,
) -> anyhow::Result<(Checkpoint, u64)> {
    let writers = if p.replays_streams_independently() {
        WRITERS
    } else {
        1
    };
    let mut senders = Vec::with_capacity(writers);
    let mut tasks = Vec::with_capacity(writers);
    for _ in 0..writers {
        let (batches, incoming) = tokio::sync::mpsc::channel::<Vec<StoredEvent>>(2);
        senders.push(batches);
        tasks.push(tokio::spawn(write_batches(
            pool.clone(),
            p.clone(),
            schema.to_string(),
            incoming,
        )));
    }
    let types = p.aggregate_types();
    let mut at = from;
    let read = async {
        loop {
            let events = read_in_log_order(pool, types, at, until).await?;
            let Some(last) = events.last().map(|e| e.checkpoint) else {
                return anyhow::Ok(());
            };
            at = last;
            for (part, sender) in split_by_stream(events, writers).into_iter().zip(&senders) {
                if !part.is_empty() && sender.send(part).await.is_err() {
                    return Ok(()); // a writer stopped: its error is the one to report
                }
            }
        }
    }
    .await;
    drop(senders);
    let mut applied = 0u64;
    for task in tasks {
        applied += task.await??;
    }
    read?;
    Ok((at, applied))
}

/// One writer of [`follow`]: applies each batch it receives in a transaction of its own and
/// returns how many events it applied.
async fn write_batches(
    pool: PgPool,
    p: Arc<dyn Projection>,
    schema: String,
    mut incoming: tokio::sync::mpsc::Receiver<Vec<StoredEvent>>,
) -> anyhow::Result<u64> {
    let mut applied = 0u64;
    while let Some(events) = incoming.recv().await {
        let mut tx = pool.begin().await?;
        // A crash loses only the unfinished rebuild, which is dropped anyway.
        sqlx::query("SET LOCAL synchronous_commit TO off")
            .execute(&mut *tx)
            .await?;
        apply_in_shadow(&mut tx, p.as_ref(), &schema, &events).await?;
        tx.commit().await?;
        applied += events.len() as u64;
    }
    Ok(applied)
}

/// `events` dealt into `parts` runs by stream: every event of a stream lands in the same run,
/// and each run keeps log order.
fn split_by_stream(events: Vec<StoredEvent>, parts: usize) -> Vec<Vec<StoredEvent>> {
    if parts == 1 {
        return vec![events];
    }
    let mut out: Vec<Vec<StoredEvent>> = (0..parts)
        .map(|_| Vec::with_capacity(events.len() / parts + 1))
        .collect();
    for e in events {
        let mut h = std::hash::DefaultHasher::new();
        e.aggregate_id.hash(&mut h);
        out[(h.finish() % parts as u64) as usize].push(e);
    }
    out
}

/// Drops the shadow tables' non-unique indexes and returns the statements that create them again
/// (unique ones stay: they decide conflicts and serve the projection's reads by key).
async fn defer_secondary_indexes(
    conn: &mut PgConnection,
    schema: &str,
) -> anyhow::Result<Vec<String>> {
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.relname::text, pg_get_indexdef(x.indexrelid)
           FROM pg_index x
           JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_namespace n ON n.oid = i.relnamespace
          WHERE n.nspname = $1 AND NOT x.indisunique",
    )
    .bind(schema)
    .fetch_all(&mut *conn)
    .await?;
    let mut creates = Vec::with_capacity(indexes.len());
    for (name, create) in indexes {
        sqlx::query(&format!("DROP INDEX \"{schema}\".\"{name}\""))
            .execute(&mut *conn)
            .await?;
        creates.push(create);
    }
    Ok(creates)
}

/// Rebuilds one projection's tables from the whole log.
pub async fn rebuild(
    pool: &PgPool,
    p: Arc<dyn Projection>,
    mode: Mode,
) -> anyhow::Result<ReplayReport> {
    let started = Instant::now();
    let schema = format!("replay_{}_{}", p.name(), uuid::Uuid::new_v4().simple());
    let mut conn = pool.acquire().await?;
    sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
        .execute(&mut *conn)
        .await?;
    for t in p.tables() {
        sqlx::query(&format!(
            "CREATE TABLE \"{schema}\".{t} (LIKE public.{t} INCLUDING ALL)"
        ))
        .execute(&mut *conn)
        .await?;
    }
    let deferred = if p.reads_own_rows_by_key_only() {
        defer_secondary_indexes(&mut conn, &schema).await?
    } else {
        Vec::new()
    };
    let result = async {
        let mut at = Checkpoint::default();
        let mut events = 0u64;
        // Follow the live projection without blocking it.
        loop {
            let target = live_checkpoint(&mut conn, p.name(), false).await?;
            let (next, n) = follow(pool, &p, &schema, at, target).await?;
            events += n;
            at = next;
            if n == 0 {
                break;
            }
        }
        for create in &deferred {
            sqlx::query(create).execute(&mut *conn).await?;
        }
        // The last events, with the live projection paused on its lock.
        let mut tx = pool.begin().await?;
        let mut target = live_checkpoint(&mut tx, p.name(), true).await?;
        if mode == Mode::Verify {
            // Rows a command wrote inline may stand past the checkpoint: compare at the log's
            // head, the live tables brought there as their lane would (rolled back after).
            target = catch_up_live(&mut tx, p.as_ref(), target).await?;
        }
        loop {
            let (next, n) = apply_into(&mut tx, p.as_ref(), &schema, at, target).await?;
            events += n;
            at = next;
            if n == 0 {
                break;
            }
        }
        sqlx::query("SET LOCAL search_path TO public").execute(&mut *tx).await?;
        let mut differences = Vec::new();
        match mode {
            Mode::Verify => {
                for t in p.tables() {
                    for (label, a, b) in [("only live", "public", schema.as_str()), ("only rebuilt", schema.as_str(), "public")] {
                        let rows: Vec<String> = sqlx::query_scalar(&format!(
                            "SELECT row_to_json(d)::text FROM (SELECT * FROM \"{a}\".{t} EXCEPT SELECT * FROM \"{b}\".{t}) d LIMIT {MAX_LISTED_DIFFERENCES}"
                        ))
                        .fetch_all(&mut *tx)
                        .await?;
                        differences.extend(rows.into_iter().map(|r| format!("{t} ({label}): {r}")));
                    }
                }
                tx.rollback().await?;
            }
            Mode::Swap => {
                let views = dependent_views::detach(&mut tx, p.tables()).await?;
                for t in p.tables() {
                    sqlx::query(&format!("DROP TABLE public.{t}")).execute(&mut *tx).await?;
                    sqlx::query(&format!("ALTER TABLE \"{schema}\".{t} SET SCHEMA public")).execute(&mut *tx).await?;
                }
                dependent_views::reattach(&mut tx, &views).await?;
                tx.commit().await?;
            }
        }
        anyhow::Ok(ReplayReport {
            projection: p.name().to_string(),
            events,
            seconds: started.elapsed().as_secs_f64(),
            differences,
        })
    }
    .await;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .execute(&mut *conn)
        .await?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(stream: &str, sequence: i64, position: i64) -> StoredEvent {
        StoredEvent {
            aggregate_type: "Contact".into(),
            aggregate_id: stream.into(),
            sequence,
            event_type: "ContactUpdated".into(),
            event_version: "1.0".into(),
            payload: crate::log::RawJson::default(),
            metadata: crate::log::RawJson::default(),
            checkpoint: Checkpoint { tx_id: 1, position },
            recorded_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn each_stream_lands_whole_in_one_part_in_log_order() {
        let events: Vec<StoredEvent> = (0..300)
            .map(|i| event(&format!("stream-{}", i % 17), i / 17, i))
            .collect();
        let parts = split_by_stream(events, 2);
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 300);
        assert!(
            parts.iter().all(|p| !p.is_empty()),
            "17 streams in one part only"
        );
        for part in &parts {
            assert!(part.windows(2).all(|w| w[0].checkpoint < w[1].checkpoint));
        }
        for stream in (0..17).map(|i| format!("stream-{i}")) {
            let holding = parts
                .iter()
                .filter(|p| p.iter().any(|e| e.aggregate_id == stream))
                .count();
            assert_eq!(holding, 1, "{stream} is split");
        }
    }
}
