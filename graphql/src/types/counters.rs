//! Contract type `AgentCounters` (items 9–11), built from [`projections::counters::read`].

use async_graphql::SimpleObject;
use projections::counters::read;

use crate::scalars::Date;

/// An agent's counters for one account-local day.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct AgentCounters {
    /// The account-local day the counters are for.
    pub day: Date,
    /// WAITING in the queues of the agent's services (item 9).
    pub waiting: i32,
    /// IN_PROGRESS with the agent now (item 10).
    pub in_progress: i32,
    /// Handled by the agent and opened on `day` (item 11).
    pub today: i32,
}

/// Counts beyond `i32` cannot occur in practice; saturate rather than fail the query.
fn clamp(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl From<read::AgentCounters> for AgentCounters {
    fn from(c: read::AgentCounters) -> Self {
        Self {
            day: Date(c.day),
            waiting: clamp(c.waiting),
            in_progress: clamp(c.in_progress),
            today: clamp(c.today),
        }
    }
}
