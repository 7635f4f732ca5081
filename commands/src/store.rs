//! The event store: one cqrs-es framework per aggregate, persisting to postgres-es's `events`
//! table. Aggregates load from their events (the stock snapshot store applies events twice, see
//! docs/adr/001-architecture.md); read models are built by the catch-up projections, not by
//! cqrs-es query dispatch, so no query processors are registered here.

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, CqrsFramework};
use postgres_es::PostgresEventRepository;
use sqlx::PgPool;
use uuid::Uuid;

use crate::context::CommandContext;
use crate::error::{from_aggregate, CommandError};

/// The framework for one aggregate type.
pub type Cqrs<A> = CqrsFramework<A, PersistedEventStore<PostgresEventRepository, A>>;

/// Builds the framework for aggregate `A` on `pool`.
pub fn cqrs<A>(pool: PgPool) -> Cqrs<A>
where
    A: Aggregate<Services = ()>,
{
    let store = PersistedEventStore::new_event_store(PostgresEventRepository::new(pool));
    CqrsFramework::new(store, vec![], ())
}

/// Runs one command on one aggregate instance with the request's metadata.
pub async fn execute<A>(
    cqrs: &Cqrs<A>,
    id: Uuid,
    command: A::Command,
    ctx: &CommandContext,
) -> Result<(), CommandError>
where
    A: Aggregate<Services = ()>,
    A::Error: Into<CommandError>,
{
    cqrs.execute_with_metadata(&id.to_string(), command, ctx.metadata())
        .await
        .map_err(from_aggregate)
}
