//! The audit trail as the contract shows it: `RecordedEvent` and its connection.

use async_graphql::{Enum, Json, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The event-sourced aggregates.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AggregateType {
    Contact,
    Attendance,
    Agent,
}

impl AggregateType {
    /// The aggregate's `TYPE` in the event table.
    pub fn stored(self) -> &'static str {
        match self {
            Self::Contact => "Contact",
            Self::Attendance => "Attendance",
            Self::Agent => "Agent",
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct RecordedEvent {
    pub aggregate_type: AggregateType,
    pub aggregate_id: Uuid,
    pub sequence: i32,
    pub event_type: String,
    pub event_version: String,
    pub payload: Json<serde_json::Value>,
    /// Who caused it: an agent id, an integration name, or system.
    pub actor: String,
    pub correlation_id: Option<String>,
    pub at: DateTime<Utc>,
}

crate::types::connection::connection!(RecordedEventConnection, RecordedEventEdge, RecordedEvent);
