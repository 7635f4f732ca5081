//! An event store that keeps recently used aggregates in memory, so that a command on an
//! attendance with 10,000 earlier messages costs what one with 10 does.
//!
//! It is a catch-up cache, not a snapshot that can go stale: on every load it asks the event
//! table for the events after the cached sequence (one indexed query that usually returns
//! nothing) and applies them, so commands written by another server process are always seen.
//! It caches only states it built itself from committed events, and forgets an aggregate whose
//! commit failed (a conflict, or an error after which the outcome is unknown). The stock
//! snapshot store of cqrs-es is not used: it applies new events twice.

use std::collections::HashMap;
use std::sync::Mutex;

use cqrs_es::persist::{EventStoreAggregateContext, PersistedEventRepository, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope, EventStore};
use postgres_es::PostgresEventRepository;

/// Aggregates kept per type and process; past it the cache starts over (memory stays bounded).
pub const AGGREGATE_CACHE_CAPACITY: usize = 20_000;

/// cqrs-es's event store with an in-memory catch-up cache in front.
pub struct CachedStore<A: Aggregate> {
    inner: PersistedEventStore<PostgresEventRepository, A>,
    repo: PostgresEventRepository,
    cache: Mutex<HashMap<String, (A, usize)>>,
}

impl<A: Aggregate + Clone> CachedStore<A> {
    pub fn new(
        inner: PersistedEventStore<PostgresEventRepository, A>,
        repo: PostgresEventRepository,
    ) -> Self {
        Self {
            inner,
            repo,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, id: &str) -> Option<(A, usize)> {
        self.cache.lock().ok()?.get(id).cloned()
    }

    fn remember(&self, id: String, aggregate: A, sequence: usize) {
        if let Ok(mut c) = self.cache.lock() {
            if c.len() >= AGGREGATE_CACHE_CAPACITY {
                c.clear();
            }
            c.insert(id, (aggregate, sequence));
        }
    }

    fn forget(&self, id: &str) {
        if let Ok(mut c) = self.cache.lock() {
            c.remove(id);
        }
    }
}

impl<A: Aggregate + Clone> EventStore<A> for CachedStore<A> {
    type AC = EventStoreAggregateContext<A>;

    async fn load_events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        self.inner.load_events(aggregate_id).await
    }

    async fn load_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<Self::AC, AggregateError<A::Error>> {
        let Some((mut aggregate, mut sequence)) = self.cached(aggregate_id) else {
            return self.inner.load_aggregate(aggregate_id).await;
        };
        let newer = self
            .repo
            .get_last_events::<A>(aggregate_id, sequence)
            .await
            .map_err(|e| AggregateError::DatabaseConnectionError(Box::new(e)))?;
        for e in newer {
            let payload = domain::upcasting::upcast(&e.event_type, &e.event_version, e.payload);
            let event: A::Event = serde_json::from_value(payload)
                .map_err(|e| AggregateError::DeserializationError(Box::new(e)))?;
            aggregate.apply(event);
            sequence = e.sequence;
        }
        Ok(EventStoreAggregateContext {
            aggregate_id: aggregate_id.to_string(),
            aggregate,
            current_sequence: sequence,
            current_snapshot: None,
        })
    }

    async fn commit(
        &self,
        events: Vec<A::Event>,
        context: Self::AC,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let id = context.aggregate_id.clone();
        // cqrs-es's EventSink already applied the new events to the context's aggregate while the
        // command was handled (applying them again is the stock snapshot store's bug).
        let after = context.aggregate.clone();
        let sequence = context.current_sequence + events.len();
        match self.inner.commit(events, context, metadata).await {
            Ok(committed) => {
                self.remember(id, after, sequence);
                Ok(committed)
            }
            Err(e) => {
                self.forget(&id);
                Err(e)
            }
        }
    }
}
