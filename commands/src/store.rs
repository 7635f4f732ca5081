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
use crate::inline::JOURNAL;
use crate::trusted_load::{Trust, TRUST};

/// The framework for one aggregate type.
pub type Cqrs<A> = CqrsFramework<A, CachedStore<A>>;

/// Builds the framework for aggregate `A` on `pool`, and a handle on its store (sharing the
/// cache) for bulk actions.
pub fn cqrs<A>(pool: PgPool) -> (Cqrs<A>, CachedStore<A>)
where
    A: Aggregate<Services = ()> + Clone + 'static,
{
    let store = PersistedEventStore::new_event_store(PostgresEventRepository::new(pool.clone()))
        .with_upcasters(vec![Box::new(DomainUpcasters)]);
    let cached = CachedStore::new(store, pool);
    (CqrsFramework::new(cached.clone(), vec![], ()), cached)
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
/// race is retried on the fresh state up to [`CONFLICT_RETRIES`] times, then CONFLICT. The
/// commit is recorded in the request's journal (`ctx.journal`).
pub async fn execute<A>(
    cqrs: &Cqrs<A>,
    id: Uuid,
    command: A::Command,
    ctx: &CommandContext,
) -> Result<(), CommandError>
where
    A: Aggregate<Services = ()> + Clone + 'static,
    A::Command: Clone,
    A::Error: Into<CommandError>,
{
    let aggregate_id = id.to_string();
    let mut attempt = 0;
    // The first attempt decides on the cached state unchecked ([`crate::trusted_load`]).
    let mut trust = true;
    loop {
        let run = cqrs.execute_with_metadata(&aggregate_id, command.clone(), ctx.metadata());
        let trusted = Trust::new(trust);
        let outcome = JOURNAL
            .scope(ctx.journal.clone(), TRUST.scope(trusted.clone(), run))
            .await;
        trust = false;
        match outcome {
            Err(cqrs_es::AggregateError::AggregateConflict) if attempt < CONFLICT_RETRIES => {
                attempt += 1
            }
            // Refused on a state that may be behind: decide again on the caught-up one.
            Err(cqrs_es::AggregateError::UserError(_)) if trusted.used() => {}
            other => return other.map_err(from_aggregate),
        }
    }
}

/// One command for each of several instances of `A`, decided and committed together: one query
/// loads them all, `decide` runs on each (a refusal is that instance's outcome alone), and the
/// events of every accepted command are committed in one transaction. When another command
/// changed one of them meanwhile, nothing of the batch is written and each command runs again
/// on its own through [`execute`] (decided afresh, retried as it would be alone). Outcomes come
/// back in the order of `commands`, whose ids must be distinct.
pub async fn execute_each<A>(
    cqrs: &Cqrs<A>,
    store: &CachedStore<A>,
    commands: Vec<(Uuid, A::Command)>,
    decide: impl Fn(&A, A::Command) -> Result<Vec<A::Event>, A::Error>,
    ctx: &CommandContext,
) -> Vec<Result<(), CommandError>>
where
    A: Aggregate<Services = ()> + Clone + 'static,
    A::Command: Clone,
    A::Error: Into<CommandError>,
{
    let ids: Vec<String> = commands.iter().map(|(id, _)| id.to_string()).collect();
    let contexts = match store.load_many(&ids).await {
        Ok(c) => c,
        Err(e) => return commands.iter().map(|_| Err(internal(&e))).collect(),
    };
    let mut outcomes: Vec<Option<Result<(), CommandError>>> = Vec::with_capacity(commands.len());
    let mut decided = Vec::new();
    let mut accepted = Vec::new();
    for (i, (context, (_, command))) in contexts.into_iter().zip(&commands).enumerate() {
        match decide(&context.aggregate, command.clone()) {
            Ok(events) => {
                outcomes.push(None);
                accepted.push(i);
                decided.push((context, events));
            }
            Err(e) => outcomes.push(Some(Err(e.into()))),
        }
    }
    let metadata = ctx.metadata();
    let commit = store.commit_many(decided, &metadata);
    match JOURNAL.scope(ctx.journal.clone(), commit).await {
        Ok(()) => accepted.iter().for_each(|&i| outcomes[i] = Some(Ok(()))),
        Err(cqrs_es::AggregateError::AggregateConflict) => {
            for &i in &accepted {
                let (id, command) = &commands[i];
                outcomes[i] = Some(execute(cqrs, *id, command.clone(), ctx).await);
            }
        }
        Err(e) => accepted
            .iter()
            .for_each(|&i| outcomes[i] = Some(Err(internal(&e)))),
    }
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(CommandError::Internal(anyhow::anyhow!("no outcome")))))
        .collect()
}

/// A failure of the store shared by every command of a batch, as each one's outcome.
fn internal<E: std::error::Error>(e: &cqrs_es::AggregateError<E>) -> CommandError {
    CommandError::Internal(anyhow::anyhow!("event store: {e}"))
}
