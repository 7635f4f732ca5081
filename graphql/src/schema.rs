//! The schema: the contract's Query, Mutation and Subscription, assembled from one object per
//! area, with depth and complexity limits.

use async_graphql::{EmptySubscription, MergedObject, Schema};

use crate::limits::{MAX_COMPLEXITY, MAX_DEPTH};
use crate::state::ApiState;
use crate::{mutation, query};

#[derive(MergedObject, Default)]
pub struct Query(
    query::me::MeQuery,
    query::catalogue::CatalogueQuery,
    query::contacts::ContactsQuery,
    query::audit::AuditQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::auth::AuthMutation,
    mutation::agents::AgentsMutation,
    mutation::admin::AdminMutation,
    mutation::contacts::ContactsMutation,
);

/// Subscriptions arrive with the real-time work; until then the type is empty.
pub type Subscription = EmptySubscription;

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The schema with its limits and the shared state.
pub fn build_schema(state: ApiState) -> AppSchema {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .data(state)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The SDL as `print-schema` writes it and `graphql/schema.graphql` holds it.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .finish()
        .sdl()
}
