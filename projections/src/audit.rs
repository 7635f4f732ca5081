//! Audit reads of the event log itself: the events of one stream with their metadata, and an
//! aggregate rebuilt as it stood at an instant (time travel), folded with the domain's own
//! `apply` so that it cannot disagree with the live state.

use cqrs_es::Aggregate;
use serde_json::Value;
use sqlx::{PgPool, Row};

use crate::log::{Checkpoint, RawJson, StoredEvent};

/// Payload keys never shown to auditors: secrets that events must carry for the aggregate.
pub const REDACTED_KEYS: &[&str] = &["password_hash", "passwordHash"];

/// A payload with its secrets replaced by `"[redacted]"`, at any depth.
pub fn redact(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    if REDACTED_KEYS.contains(&k.as_str()) {
                        *child = Value::String("[redacted]".into());
                    } else {
                        walk(child);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

fn decode(r: &sqlx::postgres::PgRow) -> Result<StoredEvent, sqlx::Error> {
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

const COLUMNS: &str =
    "aggregate_type, aggregate_id, sequence, event_type, event_version, payload::text AS payload,
     metadata::text AS metadata,
                       tx_id::text::bigint AS tx, position, recorded_at";

/// Events of one stream after `after_sequence`, oldest first, at most `limit`; plus the total.
pub async fn stream_page(
    pool: &PgPool,
    aggregate_type: &str,
    aggregate_id: &str,
    after_sequence: i64,
    limit: i64,
) -> anyhow::Result<(Vec<StoredEvent>, i64)> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3
          ORDER BY sequence LIMIT $4"
    ))
    .bind(aggregate_type)
    .bind(aggregate_id)
    .bind(after_sequence)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_type = $1 AND aggregate_id = $2",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .fetch_one(pool)
    .await?;
    Ok((rows.iter().map(decode).collect::<Result<_, _>>()?, total))
}

/// The aggregate `A` as it stood at `at` (the time the domain recorded, metadata `at`): None
/// when no event of it had happened yet.
pub async fn as_of<A: Aggregate>(
    pool: &PgPool,
    aggregate_id: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Option<A>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM events WHERE aggregate_type = $1 AND aggregate_id = $2
            AND COALESCE((metadata->>'at')::timestamptz, recorded_at) <= $3
          ORDER BY sequence"
    ))
    .bind(A::TYPE)
    .bind(aggregate_id)
    .bind(at)
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut aggregate = A::default();
    for r in &rows {
        let e = decode(r)?;
        let event: A::Event = e.decode()?;
        aggregate.apply(event);
    }
    Ok(Some(aggregate))
}
