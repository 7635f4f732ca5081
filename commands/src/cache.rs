//! An event store that keeps recently used aggregates in memory, so that a command on an
//! attendance with 10,000 earlier messages costs what one with 10 does.
//!
//! It is a catch-up cache, not a snapshot that can go stale: on every load it asks the event
//! table for the events after the cached sequence (one indexed query that usually returns
//! nothing) and applies them, so commands written by another server process are always seen.
//! It caches only states it built itself from committed events, and forgets an aggregate whose
//! commit failed (a conflict, or an error after which the outcome is unknown). The stock
//! snapshot store of cqrs-es is not used: it applies new events twice.
//!
//! Besides the one-at-a-time path cqrs-es drives, a bulk action loads many instances with one
//! query ([`CachedStore::load_many`]) and commits the events of all of them with one statement
//! ([`CachedStore::commit_many`]); both keep the cache as the single path does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cqrs_es::persist::{EventStoreAggregateContext, PersistedEventStore, SerializedEvent};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope, EventStore};
use postgres_es::PostgresEventRepository;
use sqlx::{PgConnection, PgPool};

use crate::inline::{record, Committed, InlineProjection};
use crate::stored_event::{Checkpoint, StoredEvent};

/// Aggregates kept per type and process; past it the cache starts over (memory stays bounded).
pub const AGGREGATE_CACHE_CAPACITY: usize = 20_000;

/// cqrs-es's event store with an in-memory catch-up cache in front. Clones share one cache:
/// the framework holds one, bulk actions another.
pub struct CachedStore<A: Aggregate> {
    shared: Arc<Shared<A>>,
}

struct Shared<A: Aggregate> {
    inner: PersistedEventStore<PostgresEventRepository, A>,
    pool: PgPool,
    cache: Mutex<HashMap<String, (A, usize)>>,
    /// The read model applied in each commit's transaction, if the server set one.
    inline: OnceLock<Arc<dyn InlineProjection>>,
}

impl<A: Aggregate> Clone for CachedStore<A> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// One instance's command outcome in a bulk commit: its loaded context and the events to add.
pub type Decided<A> = (EventStoreAggregateContext<A>, Vec<<A as Aggregate>::Event>);

impl<A: Aggregate + Clone> CachedStore<A> {
    pub fn new(inner: PersistedEventStore<PostgresEventRepository, A>, pool: PgPool) -> Self {
        Self {
            shared: Arc::new(Shared {
                inner,
                pool,
                cache: Mutex::new(HashMap::new()),
                inline: OnceLock::new(),
            }),
        }
    }

    /// Applies `projection` in the transaction of every commit from now on (once per store;
    /// a second call is ignored).
    pub fn apply_inline(&self, projection: Arc<dyn InlineProjection>) {
        let _ = self.shared.inline.set(projection);
    }

    fn cached(&self, id: &str) -> Option<(A, usize)> {
        self.shared.cache.lock().ok()?.get(id).cloned()
    }

    fn remember(&self, id: String, aggregate: A, sequence: usize) {
        if let Ok(mut c) = self.shared.cache.lock() {
            if c.len() >= AGGREGATE_CACHE_CAPACITY {
                c.clear();
            }
            c.insert(id, (aggregate, sequence));
        }
    }

    fn forget(&self, id: &str) {
        if let Ok(mut c) = self.shared.cache.lock() {
            c.remove(id);
        }
    }

    /// Loads the instances `ids` (distinct) with one query: each cached one catches up from its
    /// cached sequence, the others replay from their first event. Contexts come back in the order
    /// of `ids`; an instance without events is the default state at sequence 0.
    pub async fn load_many(
        &self,
        ids: &[String],
    ) -> Result<Vec<EventStoreAggregateContext<A>>, AggregateError<A::Error>> {
        let mut contexts: Vec<EventStoreAggregateContext<A>> = ids
            .iter()
            .map(|id| {
                let (aggregate, current_sequence) = self.cached(id).unwrap_or_default();
                EventStoreAggregateContext {
                    aggregate_id: id.clone(),
                    aggregate,
                    current_sequence,
                    current_snapshot: None,
                }
            })
            .collect();
        let after: Vec<i64> = contexts
            .iter()
            .map(|c| i64::try_from(c.current_sequence).unwrap_or(i64::MAX))
            .collect();
        let rows: Vec<(String, i64, String, String, serde_json::Value)> = sqlx::query_as(
            "SELECT e.aggregate_id, e.sequence, e.event_type, e.event_version, e.payload
               FROM unnest($2::text[], $3::bigint[]) AS c(id, after)
               JOIN events e ON e.aggregate_type = $1 AND e.aggregate_id = c.id AND e.sequence > c.after
              ORDER BY e.aggregate_id, e.sequence",
        )
        .bind(A::TYPE)
        .bind(ids)
        .bind(&after)
        .fetch_all(&self.shared.pool)
        .await
        .map_err(|e| AggregateError::DatabaseConnectionError(Box::new(e)))?;
        let index: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        for (id, sequence, event_type, event_version, payload) in rows {
            let Some(&i) = index.get(id.as_str()) else {
                continue;
            };
            let payload = domain::upcasting::upcast(&event_type, &event_version, payload);
            let event: A::Event = serde_json::from_value(payload)
                .map_err(|e| AggregateError::DeserializationError(Box::new(e)))?;
            contexts[i].aggregate.apply(event);
            contexts[i].current_sequence = usize::try_from(sequence).unwrap_or_default();
        }
        Ok(contexts)
    }

    /// Commits the events decided for several instances at once: all of them or,
    /// when any instance was changed meanwhile (optimistic lock) or the write fails, none.
    pub async fn commit_many(
        &self,
        decided: Vec<Decided<A>>,
        metadata: &HashMap<String, String>,
    ) -> Result<(), AggregateError<A::Error>> {
        let mut serialized: Vec<SerializedEvent> = Vec::new();
        let mut after: Vec<(String, A, usize)> = Vec::with_capacity(decided.len());
        for (context, events) in decided {
            let mut aggregate = context.aggregate;
            let mut sequence = context.current_sequence;
            for event in events {
                sequence += 1;
                let envelope = EventEnvelope::<A> {
                    aggregate_id: context.aggregate_id.clone(),
                    sequence,
                    payload: event.clone(),
                    metadata: metadata.clone(),
                };
                serialized.push(SerializedEvent::try_from(&envelope)?);
                aggregate.apply(event);
            }
            after.push((context.aggregate_id, aggregate, sequence));
        }
        if serialized.is_empty() {
            return Ok(());
        }
        match self.insert_all(&serialized).await {
            Ok(()) => {
                for (id, aggregate, sequence) in after {
                    self.remember(id, aggregate, sequence);
                }
                Ok(())
            }
            Err(e) => {
                for (id, _, _) in &after {
                    self.forget(id);
                }
                Err(e)
            }
        }
    }

    /// Appends `events` to postgres-es's table, in its columns and format, with one statement
    /// (one round trip for a whole bulk action, where the repository's `persist` sends one
    /// INSERT per event), and records the commit in the running command's journal. With an
    /// inline read model, the insert and its application share one transaction; if applying
    /// fails, the events are committed alone and the lane applies them. A sequence already
    /// taken, i.e. a stream changed since it was loaded, is the optimistic-lock conflict, as in
    /// postgres-es.
    async fn insert_all(&self, events: &[SerializedEvent]) -> Result<(), AggregateError<A::Error>> {
        let mut applied_inline = Vec::new();
        let mut appended = None;
        if let Some(projection) = self.shared.inline.get() {
            let mut tx = self.shared.pool.begin().await.map_err(db_error)?;
            let stored = self.insert(&mut tx, events).await?;
            match projection.apply_appended(&mut tx, &stored).await {
                Ok(applied) => {
                    tx.commit().await.map_err(db_error)?;
                    if applied {
                        applied_inline.push(projection.name());
                    }
                    appended = Some(stored);
                }
                Err(e) => {
                    tracing::warn!(projection = projection.name(), error = %format!("{e:#}"),
                        "inline read model failed; its lane will apply the events");
                    tx.rollback().await.map_err(db_error)?;
                }
            }
        }
        let stored = match appended {
            Some(stored) => stored,
            None => {
                let mut conn = self.shared.pool.acquire().await.map_err(db_error)?;
                self.insert(&mut conn, events).await?
            }
        };
        let mut event_types: Vec<String> = Vec::new();
        for e in &stored {
            if !event_types.contains(&e.event_type) {
                event_types.push(e.event_type.clone());
            }
        }
        let mut aggregate_ids: Vec<String> =
            stored.iter().map(|e| e.aggregate_id.clone()).collect();
        aggregate_ids.dedup();
        record(Committed {
            aggregate_type: A::TYPE,
            aggregate_ids,
            head: stored
                .iter()
                .map(|e| e.checkpoint)
                .max()
                .unwrap_or_default(),
            event_types,
            applied_inline,
        });
        Ok(())
    }

    /// The INSERT of `events` on `conn`; the rows come back as the log stores them.
    async fn insert(
        &self,
        conn: &mut PgConnection,
        events: &[SerializedEvent],
    ) -> Result<Vec<StoredEvent>, AggregateError<A::Error>> {
        let ids: Vec<&str> = events.iter().map(|e| e.aggregate_id.as_str()).collect();
        let sequences: Vec<i64> = events
            .iter()
            .map(|e| i64::try_from(e.sequence).unwrap_or(i64::MAX))
            .collect();
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        let versions: Vec<&str> = events.iter().map(|e| e.event_version.as_str()).collect();
        let payloads: Vec<&serde_json::Value> = events.iter().map(|e| &e.payload).collect();
        let metadata: Vec<&serde_json::Value> = events.iter().map(|e| &e.metadata).collect();
        type Returned = (String, i64, i64, i64, chrono::DateTime<chrono::Utc>);
        let inserted: Result<Vec<Returned>, _> = sqlx::query_as(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[])
             RETURNING aggregate_id, sequence, tx_id::text::bigint, position, recorded_at",
        )
        .bind(A::TYPE)
        .bind(&ids)
        .bind(&sequences)
        .bind(&types)
        .bind(&versions)
        .bind(&payloads)
        .bind(&metadata)
        .fetch_all(conn)
        .await;
        let rows = match inserted {
            Ok(rows) => rows,
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23505") => {
                return Err(AggregateError::AggregateConflict)
            }
            Err(e) => return Err(db_error(e)),
        };
        let mut placed: HashMap<(String, i64), (Checkpoint, chrono::DateTime<chrono::Utc>)> = rows
            .into_iter()
            .map(|(id, sequence, tx_id, position, at)| {
                ((id, sequence), (Checkpoint { tx_id, position }, at))
            })
            .collect();
        events
            .iter()
            .map(|e| {
                let sequence = i64::try_from(e.sequence).unwrap_or(i64::MAX);
                let (checkpoint, recorded_at) = placed
                    .remove(&(e.aggregate_id.clone(), sequence))
                    .ok_or_else(|| db_error(sqlx::Error::RowNotFound))?;
                Ok(StoredEvent {
                    aggregate_type: A::TYPE.to_string(),
                    aggregate_id: e.aggregate_id.clone(),
                    sequence,
                    event_type: e.event_type.clone(),
                    event_version: e.event_version.clone(),
                    payload: e.payload.clone(),
                    metadata: e.metadata.clone(),
                    checkpoint,
                    recorded_at,
                })
            })
            .collect()
    }
}

fn db_error<E: std::error::Error>(e: sqlx::Error) -> AggregateError<E> {
    AggregateError::DatabaseConnectionError(Box::new(e))
}

impl<A: Aggregate + Clone> EventStore<A> for CachedStore<A> {
    type AC = EventStoreAggregateContext<A>;

    async fn load_events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        self.shared.inner.load_events(aggregate_id).await
    }

    async fn load_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<Self::AC, AggregateError<A::Error>> {
        // One prepared query whatever the cached sequence (postgres-es's `get_last_events`
        // writes the sequence into the SQL text: a statement parsed anew on every command, and
        // one more in each connection's statement cache, pushing the others out).
        self.load_many(&[aggregate_id.to_string()])
            .await?
            .pop()
            .ok_or_else(|| AggregateError::UnexpectedError("no context loaded".into()))
    }

    /// Appends the events with one statement ([`Self::insert_all`]): one round trip and the
    /// commit of the statement itself, where the repository's `persist` opens a transaction,
    /// inserts and commits (three). The conflict rule is the same (a taken sequence).
    async fn commit(
        &self,
        events: Vec<A::Event>,
        context: Self::AC,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let id = context.aggregate_id;
        // cqrs-es's EventSink already applied the new events to the context's aggregate while the
        // command was handled (applying them again is the stock snapshot store's bug).
        let after = context.aggregate;
        let mut sequence = context.current_sequence;
        let envelopes: Vec<EventEnvelope<A>> = events
            .into_iter()
            .map(|payload| {
                sequence += 1;
                EventEnvelope {
                    aggregate_id: id.clone(),
                    sequence,
                    payload,
                    metadata: metadata.clone(),
                }
            })
            .collect();
        if envelopes.is_empty() {
            return Ok(envelopes);
        }
        let serialized = envelopes
            .iter()
            .map(SerializedEvent::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        match self.insert_all(&serialized).await {
            Ok(()) => {
                self.remember(id, after, sequence);
                Ok(envelopes)
            }
            Err(e) => {
                self.forget(&id);
                Err(e)
            }
        }
    }
}
