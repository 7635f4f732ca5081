//! The schema: the contract's Query, Mutation and Subscription, assembled from one object per
//! area, with depth and complexity limits, an error code on every error, and each query text
//! parsed once.

use async_graphql::{MergedObject, MergedSubscription, Schema};

use crate::limits::{MAX_COMPLEXITY, MAX_DEPTH};
use crate::state::ApiState;
use crate::{mutation, query, subscription};

#[derive(MergedObject, Default)]
pub struct Query(
    query::me::MeQuery,
    query::catalogue::CatalogueQuery,
    query::contacts::ContactsQuery,
    query::attendances::AttendancesQuery,
    query::counters::CountersQuery,
    query::chat::ChatQuery,
    query::audit::AuditQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::auth::AuthMutation,
    mutation::agents::AgentsMutation,
    mutation::admin::AdminMutation,
    mutation::contacts::ContactsMutation,
    mutation::attendances::AttendancesMutation,
    mutation::chat::ChatMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(
    subscription::realtime::RealtimeSubscription,
    subscription::attendances::AttendancesSubscription,
    subscription::chat::ChatSubscription,
);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The schema with its limits and the shared state.
pub fn build_schema(state: ApiState) -> AppSchema {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .data(crate::loaders::contacts(state.pool().clone()))
    .data(state)
    .data(subscription::chat::ChatHub::default())
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .extension(crate::error_codes::ErrorCodes)
    .extension(crate::parse_cache::ParseCache::new())
    .finish()
}

/// The SDL as `print-schema` writes it and `graphql/schema.graphql` holds it.
pub fn sdl() -> String {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .finish()
    .sdl()
}
