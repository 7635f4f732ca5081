//! Folding a run of events into the stored states of the streams they belong to, for read
//! models whose row is a fold of one stream (contacts, attendances): one read of the rows a
//! batch touches, the domain's own `apply` per event in memory, and the caller writes each row
//! once ([`crate::rows`]). A batch of thousands of events then costs a few statements, not a few
//! per event.

use std::collections::HashMap;

use cqrs_es::Aggregate;
use serde::de::DeserializeOwned;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;

/// One stream after a batch: its state with every event of the batch applied, and those events.
pub struct Folded<'e, A: Aggregate> {
    pub id: Uuid,
    pub state: A,
    /// Whether the stream had a stored row before this batch.
    pub existed: bool,
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
    A: Aggregate + Default + DeserializeOwned + Unpin + 'static,
    A::Event: DeserializeOwned + Clone,
{
    let mut index: HashMap<Uuid, usize> = HashMap::new();
    let mut folded: Vec<Folded<'e, A>> = Vec::new();
    let mut decoded = Vec::with_capacity(events.len());
    for e in events {
        let id: Uuid = e.aggregate_id.parse()?;
        let ev: A::Event = crate::upcast::decode(e)?;
        let slot = *index.entry(id).or_insert_with(|| {
            folded.push(Folded {
                id,
                state: A::default(),
                existed: false,
                events: Vec::new(),
            });
            folded.len() - 1
        });
        decoded.push((slot, e, ev));
    }
    let ids: Vec<Uuid> = folded.iter().map(|f| f.id).collect();
    // Decoded straight from the column's text, without an intermediate JSON value.
    let stored: Vec<(Uuid, sqlx::types::Json<A>)> = sqlx::query_as(&format!(
        "SELECT id, state FROM {table} WHERE id = ANY($1) FOR UPDATE"
    ))
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    for (id, state) in stored {
        let f = &mut folded[index[&id]];
        f.state = state.0;
        f.existed = true;
    }
    for (slot, e, ev) in decoded {
        let f = &mut folded[slot];
        f.state.apply(ev.clone());
        f.events.push((e, ev));
    }
    Ok(folded)
}
