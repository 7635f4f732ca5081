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
use sqlx::PgPool;

use crate::inline::{self, record, Appending, Committed, InlineProjection, Written};
use crate::recent::Recent;
use crate::stored_event::Checkpoint;
use crate::trusted_load;

/// Aggregates kept per type and process; past it the least recently used half is forgotten
/// (memory stays bounded, and the states in use stay cached).
pub const AGGREGATE_CACHE_CAPACITY: usize = 20_000;

/// cqrs-es's event store with an in-memory catch-up cache in front. Clones share one cache:
/// the framework holds one, bulk actions another.
pub struct CachedStore<A: Aggregate> {
    shared: Arc<Shared<A>>,
}

struct Shared<A: Aggregate> {
    inner: PersistedEventStore<PostgresEventRepository, A>,
    pool: PgPool,
    cache: Mutex<Recent<String, (A, usize)>>,
    /// The read model applied in each commit's transaction, if the server set one.
    inline: OnceLock<Arc<dyn InlineProjection<A>>>,
}

impl<A: Aggregate> Clone for CachedStore<A> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// One stream of a bulk commit: its id, where it stood, its state after, its new events and its
/// last sequence.
type Committing<A> = (String, usize, A, Vec<<A as Aggregate>::Event>, usize);

/// One instance's command outcome in a bulk commit: its loaded context and the events to add.
pub type Decided<A> = (EventStoreAggregateContext<A>, Vec<<A as Aggregate>::Event>);

impl<A: Aggregate + Clone + 'static> CachedStore<A> {
    pub fn new(inner: PersistedEventStore<PostgresEventRepository, A>, pool: PgPool) -> Self {
        Self {
            shared: Arc::new(Shared {
                inner,
                pool,
                cache: Mutex::new(Recent::new(AGGREGATE_CACHE_CAPACITY)),
                inline: OnceLock::new(),
            }),
        }
    }

    /// Applies `projection` in the transaction of every commit from now on (once per store;
    /// a second call is ignored).
    pub fn apply_inline(&self, projection: Arc<dyn InlineProjection<A>>) {
        let _ = self.shared.inline.set(projection);
    }

    fn cached(&self, id: &str) -> Option<(A, usize)> {
        self.shared.cache.lock().ok()?.get(id).cloned()
    }

    /// The cached state of `id` when it stands at `sequence`, the stream's last event as a read
    /// of the log just saw it: then it is as current as a load at that read would be, and
    /// needs no query.
    pub fn cached_at(&self, id: &str, sequence: usize) -> Option<A> {
        self.cached(id)
            .filter(|(_, at)| *at == sequence)
            .map(|(aggregate, _)| aggregate)
    }

    /// Whether the cache holds `id` at `sequence` ([`Self::cached_at`] without the copy).
    pub fn holds_at(&self, id: &str, sequence: usize) -> bool {
        self.shared
            .cache
            .lock()
            .is_ok_and(|mut c| c.get(id).is_some_and(|(_, at)| *at == sequence))
    }

    fn remember(&self, id: String, aggregate: A, sequence: usize) {
        if let Ok(mut c) = self.shared.cache.lock() {
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
        let mut contexts = self.starting_points(ids);
        let wanted: Vec<Wanted<'_>> = contexts.iter().map(wanted::<A>).collect();
        let rows = read_streams(&self.shared.pool, &wanted)
            .await
            .map_err(|e| AggregateError::DatabaseConnectionError(Box::new(e)))?;
        self.catch_up(&mut contexts, rows)?;
        Ok(contexts)
    }

    /// The contexts of `ids` as the cache holds them (the default state at 0 when it does not).
    fn starting_points(&self, ids: &[String]) -> Vec<EventStoreAggregateContext<A>> {
        ids.iter()
            .map(|id| {
                let (aggregate, current_sequence) = self.cached(id).unwrap_or_default();
                EventStoreAggregateContext {
                    aggregate_id: id.clone(),
                    aggregate,
                    current_sequence,
                    current_snapshot: None,
                }
            })
            .collect()
    }

    /// Applies to `contexts` the rows of their streams read after their sequences (rows of
    /// other streams are skipped), and caches each one that moved.
    fn catch_up(
        &self,
        contexts: &mut [EventStoreAggregateContext<A>],
        rows: Vec<StreamRow>,
    ) -> Result<(), AggregateError<A::Error>> {
        let mut caught_up = vec![false; contexts.len()];
        let index: HashMap<String, usize> = contexts
            .iter()
            .enumerate()
            .map(|(i, c)| (c.aggregate_id.clone(), i))
            .collect();
        for row in rows {
            if row.aggregate_type != A::TYPE {
                continue;
            }
            let Some(&i) = index.get(&row.aggregate_id) else {
                continue;
            };
            let event: A::Event =
                domain::upcasting::decode(&row.event_type, &row.event_version, &row.payload)
                    .map_err(|e| AggregateError::DeserializationError(Box::new(e)))?;
            contexts[i].aggregate.apply(event);
            contexts[i].current_sequence = usize::try_from(row.sequence).unwrap_or_default();
            caught_up[i] = true;
        }
        // What was read from the log is current as of now: the next command may trust it.
        for (c, _) in contexts.iter().zip(&caught_up).filter(|(_, &moved)| moved) {
            self.remember(
                c.aggregate_id.clone(),
                c.aggregate.clone(),
                c.current_sequence,
            );
        }
        Ok(())
    }

    /// Commits the events decided for several instances at once: all of them or,
    /// when any instance was changed meanwhile (optimistic lock) or the write fails, none.
    pub async fn commit_many(
        &self,
        decided: Vec<Decided<A>>,
        metadata: &HashMap<String, String>,
    ) -> Result<(), AggregateError<A::Error>> {
        let mut serialized: Vec<SerializedEvent> = Vec::new();
        let mut after: Vec<Committing<A>> = Vec::with_capacity(decided.len());
        for (context, events) in decided {
            let before = context.current_sequence;
            let mut aggregate = context.aggregate;
            let mut sequence = before;
            for event in &events {
                sequence += 1;
                let envelope = EventEnvelope::<A> {
                    aggregate_id: context.aggregate_id.clone(),
                    sequence,
                    payload: event.clone(),
                    metadata: metadata.clone(),
                };
                serialized.push(SerializedEvent::try_from(&envelope)?);
                aggregate.apply(event.clone());
            }
            after.push((context.aggregate_id, before, aggregate, events, sequence));
        }
        if serialized.is_empty() {
            return Ok(());
        }
        let streams: Vec<Appending<'_, A>> = after
            .iter()
            .filter(|(_, _, _, events, _)| !events.is_empty())
            .map(|(id, before, state, events, _)| appending(id, *before, state, events.iter()))
            .collect();
        let inserted = self.insert_all(&serialized, &streams).await;
        drop(streams);
        match inserted {
            Ok(()) => {
                for (id, _, aggregate, _, sequence) in after {
                    self.remember(id, aggregate, sequence);
                }
                Ok(())
            }
            Err(e) => {
                for (id, ..) in &after {
                    self.forget(id);
                }
                Err(e)
            }
        }
    }

    /// Appends `events` to postgres-es's table, in its columns and format, with one statement
    /// (one round trip for a whole bulk action, where the repository's `persist` sends one
    /// INSERT per event), which also writes the inline read model's rows for `streams` when the
    /// server set one ([`crate::inline`]); and records the commit in the running command's
    /// journal. If the read model's part fails, the events are appended alone. A sequence
    /// already taken, i.e. a stream changed since it was loaded, is the optimistic-lock
    /// conflict, as in postgres-es.
    async fn insert_all(
        &self,
        events: &[SerializedEvent],
        streams: &[Appending<'_, A>],
    ) -> Result<(), AggregateError<A::Error>> {
        let mut applied_inline = Vec::new();
        let mut placed = None;
        if let Some(projection) = self.shared.inline.get() {
            match self.insert_applying(&**projection, events, streams).await {
                Ok((rows, all_applied)) => {
                    if all_applied {
                        applied_inline.push(projection.name());
                    }
                    placed = Some(rows);
                }
                Err(Appended::Conflict) => return Err(AggregateError::AggregateConflict),
                Err(Appended::Failed(e)) => {
                    tracing::warn!(projection = projection.name(), error = %format!("{e:#}"),
                        "inline read model failed; its lane will apply the events");
                }
            }
        }
        let placed = match placed {
            Some(rows) => rows,
            None => match self.insert(events).await {
                Ok(rows) => rows,
                Err(Appended::Conflict) => return Err(AggregateError::AggregateConflict),
                Err(Appended::Failed(e)) => {
                    return Err(AggregateError::DatabaseConnectionError(e.into()));
                }
            },
        };
        let mut event_types: Vec<String> = Vec::new();
        for e in events {
            if !event_types.contains(&e.event_type) {
                event_types.push(e.event_type.clone());
            }
        }
        let mut aggregate_ids: Vec<String> =
            events.iter().map(|e| e.aggregate_id.clone()).collect();
        aggregate_ids.dedup();
        let written = !applied_inline.is_empty();
        for stream in streams {
            inline::record_written(stream.id, || {
                written.then(|| Written {
                    state: stream.state.clone(),
                    events: stream
                        .events
                        .iter()
                        .map(|(s, e)| (*s, (*e).clone()))
                        .collect(),
                })
            });
        }
        record(Committed {
            aggregate_type: A::TYPE,
            aggregate_ids,
            head: placed.into_iter().max().unwrap_or_default(),
            event_types,
            applied_inline,
        });
        Ok(())
    }

    /// The append alone; the log positions of the events.
    async fn insert(&self, events: &[SerializedEvent]) -> Result<Vec<Checkpoint>, Appended> {
        let sql = format!("{APPEND} SELECT tx, position, true FROM appended");
        self.run_append(&sql, events, Vec::new())
            .await
            .map(|(rows, _)| rows)
    }

    /// The append and the inline read model's rows in one statement; the log positions of the
    /// events, and whether the rows of every stream were written.
    async fn insert_applying(
        &self,
        projection: &dyn InlineProjection<A>,
        events: &[SerializedEvent],
        streams: &[Appending<'_, A>],
    ) -> Result<(Vec<Checkpoint>, bool), Appended> {
        let parameters = projection.parameters(streams).map_err(Appended::Failed)?;
        let sql = format!(
            "{APPEND}, {}
             SELECT a.tx, a.position, EXISTS (SELECT 1 FROM applied p WHERE p.id = a.aggregate_id)
               FROM appended a",
            projection.ctes()
        );
        self.run_append(&sql, events, parameters).await
    }

    async fn run_append(
        &self,
        sql: &str,
        events: &[SerializedEvent],
        parameters: Vec<String>,
    ) -> Result<(Vec<Checkpoint>, bool), Appended> {
        let ids: Vec<&str> = events.iter().map(|e| e.aggregate_id.as_str()).collect();
        let sequences: Vec<i64> = events
            .iter()
            .map(|e| i64::try_from(e.sequence).unwrap_or(i64::MAX))
            .collect();
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        let versions: Vec<&str> = events.iter().map(|e| e.event_version.as_str()).collect();
        let payloads: Vec<&serde_json::Value> = events.iter().map(|e| &e.payload).collect();
        let metadata: Vec<&serde_json::Value> = events.iter().map(|e| &e.metadata).collect();
        let mut query = sqlx::query_as::<_, (i64, i64, bool)>(sql)
            .bind(A::TYPE)
            .bind(&ids)
            .bind(&sequences)
            .bind(&types)
            .bind(&versions)
            .bind(&payloads)
            .bind(&metadata);
        for p in parameters {
            query = query.bind(p);
        }
        match query.fetch_all(&self.shared.pool).await {
            Ok(rows) => {
                let all = rows.iter().all(|(_, _, applied)| *applied);
                let placed = rows
                    .into_iter()
                    .map(|(tx_id, position, _)| Checkpoint { tx_id, position })
                    .collect();
                Ok((placed, all))
            }
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("23505")
                    && e.constraint() == Some("events_pkey") =>
            {
                Err(Appended::Conflict)
            }
            Err(e) => Err(Appended::Failed(e.into())),
        }
    }
}

/// The INSERT into `events` as the first common table expression of an append statement
/// (`$1` the aggregate type, `$2`–`$7` one array per column).
const APPEND: &str = "WITH appended AS (
    INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
    SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[])
    RETURNING aggregate_id, sequence, tx_id::text::bigint AS tx, position)";

/// Why an append statement wrote nothing.
enum Appended {
    /// A sequence was taken: the optimistic-lock conflict.
    Conflict,
    Failed(anyhow::Error),
}

/// The [`Appending`] of a stream that stood at `before` and reached `state` with `events`.
fn appending<'a, A: Aggregate>(
    id: &'a str,
    before: usize,
    state: &'a A,
    events: impl Iterator<Item = &'a A::Event>,
) -> Appending<'a, A> {
    let before = i64::try_from(before).unwrap_or(i64::MAX);
    Appending {
        id,
        before,
        state,
        events: events.zip(before + 1..).map(|(e, seq)| (seq, e)).collect(),
    }
}

impl<A: Aggregate + Clone + 'static> EventStore<A> for CachedStore<A> {
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
        // A command allowed to trust the cache decides on it as it is; its append checks it
        // ([`crate::trusted_load`]).
        if trusted_load::allowed() {
            if let Some((aggregate, current_sequence)) = self.cached(aggregate_id) {
                trusted_load::mark_used();
                return Ok(EventStoreAggregateContext {
                    aggregate_id: aggregate_id.to_string(),
                    aggregate,
                    current_sequence,
                    current_snapshot: None,
                });
            }
        }
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
            // Nothing to append checks a trusted state: ask the log whether it moved on.
            if trusted_load::used() {
                let current = self.load_many(std::slice::from_ref(&id)).await?;
                if current.first().map(|c| c.current_sequence) != Some(context.current_sequence) {
                    self.forget(&id);
                    return Err(AggregateError::AggregateConflict);
                }
            }
            return Ok(envelopes);
        }
        let serialized = envelopes
            .iter()
            .map(SerializedEvent::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let stream = appending(
            &id,
            context.current_sequence,
            &after,
            envelopes.iter().map(|e| &e.payload),
        );
        let inserted = self.insert_all(&serialized, &[stream]).await;
        match inserted {
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

/// One stream to read: its aggregate type, id, and the sequence after which to read.
type Wanted<'a> = (&'static str, &'a str, i64);

fn wanted<A: Aggregate>(c: &EventStoreAggregateContext<A>) -> Wanted<'_> {
    let after = i64::try_from(c.current_sequence).unwrap_or(i64::MAX);
    (A::TYPE, c.aggregate_id.as_str(), after)
}

/// One event of [`read_streams`]; the payload as stored text, decoded straight into the
/// aggregate's event ([`domain::upcasting::decode`]).
#[derive(sqlx::FromRow)]
struct StreamRow {
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: String,
}

/// The events of each wanted stream after its sequence, in stream order. One or two streams
/// (a command's load, an inbound message's contact and attendance) take a statement of plain
/// parameters, which PostgreSQL plans once per connection; more take one over arrays, which it
/// plans on every call.
async fn read_streams(pool: &PgPool, wanted: &[Wanted<'_>]) -> sqlx::Result<Vec<StreamRow>> {
    match wanted {
        [] => Ok(Vec::new()),
        [one] => read_two(pool, one, &("", "", 0)).await,
        [one, two] => read_two(pool, one, two).await,
        many => read_many(pool, many).await,
    }
}

async fn read_two(
    pool: &PgPool,
    one: &Wanted<'_>,
    two: &Wanted<'_>,
) -> sqlx::Result<Vec<StreamRow>> {
    sqlx::query_as(
        "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload::text AS payload
           FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3
         UNION ALL
         SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload::text
           FROM events WHERE aggregate_type = $4 AND aggregate_id = $5 AND sequence > $6
          ORDER BY 1, 2, 3",
    )
    .bind(one.0)
    .bind(one.1)
    .bind(one.2)
    .bind(two.0)
    .bind(two.1)
    .bind(two.2)
    .fetch_all(pool)
    .await
}

async fn read_many(pool: &PgPool, wanted: &[Wanted<'_>]) -> sqlx::Result<Vec<StreamRow>> {
    let types: Vec<&str> = wanted.iter().map(|w| w.0).collect();
    let ids: Vec<&str> = wanted.iter().map(|w| w.1).collect();
    let after: Vec<i64> = wanted.iter().map(|w| w.2).collect();
    sqlx::query_as(
        "SELECT e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.event_version, e.payload::text AS payload
           FROM unnest($1::text[], $2::text[], $3::bigint[]) AS c(t, id, after)
           JOIN events e ON e.aggregate_type = c.t AND e.aggregate_id = c.id AND e.sequence > c.after
          ORDER BY e.aggregate_type, e.aggregate_id, e.sequence",
    )
    .bind(&types)
    .bind(&ids)
    .bind(&after)
    .fetch_all(pool)
    .await
}

/// Loads instance `a_id` of `a` and instance `b_id` of `b` (two aggregate types) with one query,
/// each as [`CachedStore::load_many`] would (both are cached afterwards); `a_id`'s state.
pub async fn load_two<A, B>(
    a: &CachedStore<A>,
    a_id: &str,
    b: &CachedStore<B>,
    b_id: &str,
) -> anyhow::Result<A>
where
    A: Aggregate + Clone + 'static,
    B: Aggregate + Clone + 'static,
{
    let mut a_context = a.starting_points(&[a_id.to_string()]);
    let mut b_context = b.starting_points(&[b_id.to_string()]);
    let wanted: Vec<Wanted<'_>> = a_context
        .iter()
        .map(wanted::<A>)
        .chain(b_context.iter().map(wanted::<B>))
        .collect();
    let rows = read_streams(&a.shared.pool, &wanted).await?;
    let (a_rows, b_rows) = rows
        .into_iter()
        .partition(|r| r.aggregate_type == A::TYPE && r.aggregate_id == a_id);
    a.catch_up(&mut a_context, a_rows)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    b.catch_up(&mut b_context, b_rows)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    a_context
        .pop()
        .map(|c| c.aggregate)
        .ok_or_else(|| anyhow::anyhow!("no context loaded"))
}
