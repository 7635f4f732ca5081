//! An event as the log stores it, and the place in the log's global order a reader has come
//! to. Projections read events in this form (the `projections` crate reads the log); a commit's
//! place in the log is what a request's journal records ([`crate::inline`]).

use serde_json::Value;

/// How far a reader has come: the last `(tx_id, position)` applied. `(0, 0)` is the beginning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Checkpoint {
    pub tx_id: i64,
    pub position: i64,
}

/// One stored event, as projections read it.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
    pub metadata: Value,
    pub checkpoint: Checkpoint,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
}

impl StoredEvent {
    /// `Contact/5b0.../3`: how errors and causation ids name an event.
    pub fn identity(&self) -> String {
        format!(
            "{}/{}/{}",
            self.aggregate_type, self.aggregate_id, self.sequence
        )
    }

    /// A metadata entry, e.g. `actor` or `correlation_id`.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).and_then(Value::as_str)
    }
}
