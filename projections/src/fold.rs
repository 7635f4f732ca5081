//! Folding a run of events into the stored states of the streams they belong to, for read
//! models whose row is a fold of one stream (contacts, attendances): one read of the rows a
//! batch touches, the domain's own `apply` per event in memory, and the caller writes each row
//! once. A batch of thousands of events then costs a few statements, not a few per event.
//!
//! Also the helpers those writers share: rows go to PostgreSQL as one JSON array expanded by
//! `jsonb_populate_recordset`, and times are written at the microsecond precision PostgreSQL
//! keeps (truncated, as a bound parameter would be).

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use cqrs_es::Aggregate;
use serde::de::DeserializeOwned;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;

/// One stream after a batch: its state with every event of the batch applied, and those events.
pub struct Folded<'e, A: Aggregate> {
    pub id: Uuid,
    pub state: A,
    pub events: Vec<(&'e StoredEvent, A::Event)>,
}

/// Decodes (upcasting old versions) and folds `events` into the states stored in `table`'s
/// `state` column (the default state for a stream with no row yet). Streams come back in the
/// order of their first event in the batch.
pub async fn fold_streams<'e, A>(
    tx: &mut PgConnection,
    table: &'static str,
    events: &'e [StoredEvent],
) -> anyhow::Result<Vec<Folded<'e, A>>>
where
    A: Aggregate + Default + DeserializeOwned,
    A::Event: DeserializeOwned + Clone,
{
    let mut index: HashMap<Uuid, usize> = HashMap::new();
    let mut folded: Vec<Folded<'e, A>> = Vec::new();
    let mut decoded = Vec::with_capacity(events.len());
    for e in events {
        let id: Uuid = e.aggregate_id.parse()?;
        let ev: A::Event = serde_json::from_value(crate::upcast::upcast(e)?)?;
        let slot = *index.entry(id).or_insert_with(|| {
            folded.push(Folded {
                id,
                state: A::default(),
                events: Vec::new(),
            });
            folded.len() - 1
        });
        decoded.push((slot, e, ev));
    }
    let ids: Vec<Uuid> = folded.iter().map(|f| f.id).collect();
    let stored: Vec<(Uuid, serde_json::Value)> = sqlx::query_as(&format!(
        "SELECT id, state FROM {table} WHERE id = ANY($1) FOR UPDATE"
    ))
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    for (id, state) in stored {
        folded[index[&id]].state = serde_json::from_value(state)?;
    }
    for (slot, e, ev) in decoded {
        let f = &mut folded[slot];
        f.state.apply(ev.clone());
        f.events.push((e, ev));
    }
    Ok(folded)
}

/// A time as PostgreSQL stores it (microseconds, truncated), for rows sent as JSON.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Same, for an optional time.
pub fn ts_opt(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(ts)
}

/// Inserts `rows` (JSON objects keyed by column name) into `table`, replacing the row with the
/// same key: `INSERT … SELECT … FROM jsonb_populate_recordset(NULL::table, $1) ON CONFLICT (key)
/// DO UPDATE` of every other column. The rows must have distinct keys.
pub async fn upsert_rows(
    tx: &mut PgConnection,
    table: &str,
    key: &[&str],
    columns: &[&str],
    rows: Vec<serde_json::Value>,
) -> anyhow::Result<()> {
    let updates: Vec<String> = columns
        .iter()
        .filter(|c| !key.contains(c))
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    let conflict = format!(
        "ON CONFLICT ({}) DO UPDATE SET {}",
        key.join(", "),
        updates.join(", ")
    );
    insert_rows(tx, table, columns, rows, &conflict).await
}

/// Inserts `rows` (JSON objects keyed by column name) into `table` in one statement, with the
/// given `ON CONFLICT …` clause (or none).
pub async fn insert_rows(
    tx: &mut PgConnection,
    table: &str,
    columns: &[&str],
    rows: Vec<serde_json::Value>,
    on_conflict: &str,
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let list = columns.join(", ");
    let sql = format!(
        "INSERT INTO {table} ({list}) SELECT {list} FROM jsonb_populate_recordset(NULL::{table}, $1) {on_conflict}"
    );
    sqlx::query(&sql)
        .bind(serde_json::Value::Array(rows))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_truncated_to_microseconds() {
        let t = Utc.timestamp_opt(1_700_000_000, 123_456_999).unwrap();
        assert_eq!(ts(t), "2023-11-14T22:13:20.123456Z");
    }
}
