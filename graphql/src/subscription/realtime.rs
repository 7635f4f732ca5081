//! Subscriptions fed by the change feed ([`crate::feed`]): presence now; the attendance,
//! pending-list, message and counter streams build on the same feed and replay helpers.

use async_graphql::{Context, Subscription};
use futures::Stream;
use uuid::Uuid;

use crate::auth;
use crate::feed::{FeedItem, RecvError, Topic};
use crate::state::ApiState;
use crate::types::agent::AgentSummary;

/// Agent events that change what `presenceChanged` shows.
const PRESENCE_EVENTS: &[&str] = &[
    "AgentLoggedIn",
    "AgentLoggedOut",
    "PauseStarted",
    "PauseReasonChanged",
    "PauseEnded",
    "AgentUpdated",
    "AgentImageChanged",
];

#[derive(Default)]
pub struct RealtimeSubscription;

#[Subscription]
impl RealtimeSubscription {
    /// An agent's presence or connection changed (for the agent picker and the indicator).
    async fn presence_changed(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = AgentSummary>> {
        auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>().clone();
        let mut rx = state.feed().subscribe(vec![Topic::All]);
        Ok(async_stream::stream! {
            loop {
                let item = match rx.recv().await {
                    Ok(item) => item,
                    Err(RecvError::Lagged) => continue,
                    Err(_) => break,
                };
                let agent: Option<Uuid> = match &item {
                    FeedItem::Connection(id) => Some(*id),
                    FeedItem::Event(e) if e.aggregate_type == "Agent" && PRESENCE_EVENTS.contains(&e.event_type.as_str()) => {
                        e.aggregate_id.parse().ok()
                    }
                    _ => None,
                };
                let Some(agent) = agent else { continue };
                if let Ok(Some(row)) = projections::agents::read::get(state.pool(), agent).await {
                    yield AgentSummary(row);
                }
            }
        })
    }
}
