//! The event store: one cqrs-es framework per aggregate, persisting to postgres-es's `events`
//! table. Aggregates load from their events through an in-memory catch-up cache
//! ([`crate::cache`]; the stock snapshot store applies events twice); read models are built by
//! the catch-up projections, not by cqrs-es query dispatch, so no query processors are
//! registered here.

use cqrs_es::persist::{EventUpcaster, PersistedEventStore, SerializedEvent};
use cqrs_es::{Aggregate, CqrsFramework};
use postgres_es::PostgresEventRepository;
use sqlx::PgPool;
use uuid::Uuid;

use crate::cache::CachedStore;
use crate::context::CommandContext;
use crate::error::{from_aggregate, CommandError};

/// The framework for one aggregate type.
pub type Cqrs<A> = CqrsFramework<A, CachedStore<A>>;

/// Builds the framework for aggregate `A` on `pool`.
pub fn cqrs<A>(pool: PgPool) -> Cqrs<A>
where
    A: Aggregate<Services = ()> + Clone,
{
    let store = PersistedEventStore::new_event_store(PostgresEventRepository::new(pool.clone()))
        .with_upcasters(vec![Box::new(DomainUpcasters)]);
    CqrsFramework::new(
        CachedStore::new(store, PostgresEventRepository::new(pool)),
        vec![],
        (),
    )
}

/// The domain's upcasting rules ([`domain::upcasting`]) as cqrs-es applies them when loading.
struct DomainUpcasters;

impl EventUpcaster for DomainUpcasters {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        domain::upcasting::UPCASTERS
            .iter()
            .any(|u| u.event_type == event_type && u.from_version == event_version)
    }

    fn upcast(&self, mut event: SerializedEvent) -> SerializedEvent {
        event.payload =
            domain::upcasting::upcast(&event.event_type, &event.event_version, event.payload);
        event.event_version =
            domain::upcasting::current_version(&event.event_type, &event.event_version);
        event
    }
}

/// How often a command is decided again when another command on the same aggregate committed
/// first (optimistic lock). Safe for every command here: `decide` runs again on the new state, so
/// a command that no longer applies is refused as it would have been, never applied twice.
pub const CONFLICT_RETRIES: usize = 4;

/// Runs one command on one aggregate instance with the request's metadata; a lost optimistic-lock
/// race is retried on the fresh state up to [`CONFLICT_RETRIES`] times, then CONFLICT.
pub async fn execute<A>(
    cqrs: &Cqrs<A>,
    id: Uuid,
    command: A::Command,
    ctx: &CommandContext,
) -> Result<(), CommandError>
where
    A: Aggregate<Services = ()> + Clone,
    A::Command: Clone,
    A::Error: Into<CommandError>,
{
    let aggregate_id = id.to_string();
    let mut attempt = 0;
    loop {
        match cqrs
            .execute_with_metadata(&aggregate_id, command.clone(), ctx.metadata())
            .await
        {
            Err(cqrs_es::AggregateError::AggregateConflict) if attempt < CONFLICT_RETRIES => {
                attempt += 1
            }
            other => return other.map_err(from_aggregate),
        }
    }
}
