//! Reading the event log in a global order that never skips an event committed late.
//!
//! # The problem
//! `events.position` comes from a sequence, assigned when a row is *inserted*; transactions
//! commit in another order. A reader that remembers "I have read up to position 41" and later
//! asks for `position > 41` misses position 40 if its transaction was still open during the
//! first read and commits afterwards.
//!
//! # The approach
//! Every row also stores `tx_id` (`pg_current_xact_id()` of the writer). PostgreSQL guarantees
//! that every transaction that can still commit has an id `>= pg_snapshot_xmin(pg_current_snapshot())`.
//! So a reader takes only rows with `tx_id < xmin` (all of their transactions have ended: what
//! is visible is final), ordered by `(tx_id, position)`, and remembers the last `(tx_id, position)`
//! it applied. Any row that appears later has `tx_id >= xmin` of every earlier read, so it sorts
//! after the checkpoint: nothing is ever skipped. Events of one aggregate keep their order,
//! because the writer of sequence n+1 loaded sequence n after it had committed, and so received
//! its transaction id later. The price is latency: an open writing transaction holds back the
//! events of later ones until it ends (a command appends with one statement, the rows of the
//! read model it writes inline included).
//!
//! A reader of some types only ([`read_batch`]) also learns the settled head of the whole log
//! in the same snapshot: when its batch was not full, nothing of its types lies between its last
//! event and that head, so its next read may start there instead of walking the other types'
//! events again on every wake-up.

use std::sync::LazyLock;

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{PgConnection, Postgres, Row};

pub use commands::stored_event::{Checkpoint, RawJson, StoredEvent};

// `aggregate_type || ''` keeps the planner on the global-order index: compared as is, it may
// pick the primary key for the type and sort every event of that type (over a second on a log
// seeded in one transaction, where statistics cannot tell the position filter is selective).
const SELECT_AFTER: &str = "
SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload::text AS payload,
       metadata::text AS metadata,
       tx_id::text::bigint AS tx, position, recorded_at
  FROM events
 WHERE (tx_id, position) > ($1::text::xid8, $2)
   AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
   AND (aggregate_type || '') = ANY($3)
 ORDER BY tx_id, position
 LIMIT $4";

/// Select-list items that make the rest of the calling transaction plan without sequential and
/// bitmap scans (disfavoured, not forbidden), so that a log read walks the global-order index
/// for the batch it asks for, whatever the table's statistics say. The read's filters cannot
/// be estimated well (a row comparison, a function of the snapshot, an expression): on a table
/// never analysed (autovacuum off, or not yet run after a bulk load) the planner read every event
/// after the checkpoint with a parallel bitmap scan and sorted them for each batch, and from the
/// start of a long log it sorted the whole type. Used by the projection lanes and the replay.
pub const LOG_READS_BY_INDEX: &str =
    "set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)";

/// The next `limit` settled events of the given aggregate types after `from`.
pub async fn read_after(
    conn: &mut PgConnection,
    from: Checkpoint,
    aggregate_types: &[&str],
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let rows = query_after(SELECT_AFTER, from, aggregate_types, limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
}

/// `sql`, a query taking [`SELECT_AFTER`]'s parameters (and possibly more, bound after these),
/// to be planned for the values at hand.
///
/// Not a cached prepared statement: after five runs PostgreSQL may switch one to a generic plan,
/// and for a log of millions of events the generic plan of this query (position and limit
/// unknown) was a bitmap scan of everything after the checkpoint plus a sort, seconds a batch,
/// where the plan for the actual values walks the global-order index for the few hundred rows
/// asked for. An unnamed statement is planned anew each time (a fraction of a millisecond).
fn query_after<'q>(
    sql: &'q str,
    from: Checkpoint,
    aggregate_types: &'q [&'q str],
    limit: i64,
) -> Query<'q, Postgres, PgArguments> {
    sqlx::query(sql)
        .persistent(false)
        .bind(from.tx_id.to_string())
        .bind(from.position)
        .bind(aggregate_types)
        .bind(limit)
}

/// The last settled event of the whole log (see the module doc), as a query's first row.
const SETTLED_HEAD: &str = "SELECT tx_id::text::bigint AS head_tx, position AS head_position
  FROM events WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())
 ORDER BY tx_id DESC, position DESC LIMIT 1";

/// The last settled event of the whole log, if any.
pub async fn settled_head(conn: &mut PgConnection) -> Result<Option<Checkpoint>, sqlx::Error> {
    let head: Option<(i64, i64)> = sqlx::query_as(SETTLED_HEAD).fetch_optional(conn).await?;
    Ok(head.map(|(tx_id, position)| Checkpoint { tx_id, position }))
}

/// [`SELECT_AFTER`] with the settled head of the whole log and the reader's stored checkpoint
/// (`$5`, a projection's name), read in the same snapshot: one row per event, or one row of NULL
/// event columns when there is none.
static SELECT_BATCH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH head AS ({SETTLED_HEAD}),
         stored AS (
             SELECT tx_id::text::bigint AS stored_tx, position AS stored_position
               FROM projection_checkpoints WHERE name = $5),
         batch AS ({SELECT_AFTER})
         SELECT batch.*, head.head_tx, head.head_position, stored.stored_tx, stored.stored_position
           FROM (SELECT 1) one
           LEFT JOIN head ON true LEFT JOIN stored ON true LEFT JOIN batch ON true
          ORDER BY batch.tx, batch.position"
    )
});

/// What [`read_batch`] found.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<StoredEvent>,
    /// The reader's checkpoint as stored (its row in `projection_checkpoints`); the events are
    /// those after `from`, which the caller must check is not behind it.
    pub stored: Checkpoint,
    /// The last settled event of any type when the batch was read. When the batch holds fewer
    /// events than asked for, every settled event of the reader's types up to here is in it, so
    /// the reader may start its next read here (skipping the other types' events in between).
    pub settled_head: Option<Checkpoint>,
}

/// Like [`read_after`], plus the settled head of the whole log and the stored checkpoint of
/// projection `name`, read in the same snapshot.
pub async fn read_batch(
    conn: &mut PgConnection,
    from: Checkpoint,
    aggregate_types: &[&str],
    limit: i64,
    name: &str,
) -> Result<Batch, sqlx::Error> {
    let rows = query_after(&SELECT_BATCH, from, aggregate_types, limit)
        .bind(name)
        .fetch_all(conn)
        .await?;
    let mut batch = Batch::default();
    for (i, r) in rows.iter().enumerate() {
        if i == 0 {
            let head: Option<i64> = r.try_get("head_tx")?;
            if let Some(tx_id) = head {
                batch.settled_head = Some(Checkpoint {
                    tx_id,
                    position: r.try_get("head_position")?,
                });
            }
            let stored: Option<i64> = r.try_get("stored_tx")?;
            batch.stored = Checkpoint {
                tx_id: stored.unwrap_or_default(),
                position: r
                    .try_get::<Option<i64>, _>("stored_position")?
                    .unwrap_or_default(),
            };
        }
        let kind: Option<String> = r.try_get("aggregate_type")?;
        if kind.is_some() {
            batch.events.push(decode(r)?);
        }
    }
    Ok(batch)
}

fn decode(r: &PgRow) -> Result<StoredEvent, sqlx::Error> {
    Ok(StoredEvent {
        aggregate_type: r.try_get("aggregate_type")?,
        aggregate_id: r.try_get("aggregate_id")?,
        sequence: r.try_get("sequence")?,
        event_type: r.try_get("event_type")?,
        event_version: r.try_get("event_version")?,
        payload: RawJson::new(r.try_get("payload")?),
        metadata: RawJson::new(r.try_get("metadata")?),
        checkpoint: Checkpoint {
            tx_id: r.try_get("tx")?,
            position: r.try_get("position")?,
        },
        recorded_at: r.try_get("recorded_at")?,
    })
}

/// Where the last event of one stream sits in the global order (None: no such stream).
pub async fn stream_head(
    conn: &mut PgConnection,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<Option<Checkpoint>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT tx_id::text::bigint AS tx, position FROM events
          WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence DESC LIMIT 1",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(Checkpoint {
            tx_id: r.try_get("tx")?,
            position: r.try_get("position")?,
        })
    })
    .transpose()
}

/// The latest of the last events of several streams (None when none has any).
pub async fn streams_head(
    conn: &mut PgConnection,
    aggregate_type: &str,
    aggregate_ids: &[String],
) -> Result<Option<Checkpoint>, sqlx::Error> {
    // Each stream's last event by its primary key, like [`stream_head`], however long it is.
    let heads: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT h.tx, h.position FROM unnest($2::text[]) AS s(id)
           CROSS JOIN LATERAL (
               SELECT tx_id::text::bigint AS tx, position FROM events
                WHERE aggregate_type = $1 AND aggregate_id = s.id
                ORDER BY sequence DESC LIMIT 1) h",
    )
    .bind(aggregate_type)
    .bind(aggregate_ids)
    .fetch_all(conn)
    .await?;
    Ok(heads
        .into_iter()
        .map(|(tx_id, position)| Checkpoint { tx_id, position })
        .max())
}
