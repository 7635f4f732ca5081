//! An event as the log stores it, and the place in the log's global order a reader has come
//! to. Projections read events in this form (the `projections` crate reads the log); a commit's
//! place in the log is what a request's journal records ([`crate::inline`]).

use serde::de::DeserializeOwned;
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
    pub payload: RawJson,
    pub metadata: RawJson,
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

    /// The event it holds, at the current version of its type ([`domain::upcasting::decode`]).
    pub fn decode<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        domain::upcasting::decode(&self.event_type, &self.event_version, self.payload.text())
    }

    /// A metadata entry, e.g. `actor` or `correlation_id`.
    pub fn meta(&self, key: &str) -> Option<String> {
        let mut metadata = self.metadata.value().ok()?;
        match metadata.get_mut(key)?.take() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// A JSON document as the log stores it: the text of a `json` column (read as `column::text`).
/// Every reader of the log gets every event, and most need one typed view of it or none (a
/// lane skips what it applied inline, the change feed looks at few payloads): so the text is
/// parsed by the reader that needs it, into the type it needs, never into a [`Value`] first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawJson(String);

impl RawJson {
    /// Wraps text that is one JSON document (as PostgreSQL's `json` type guarantees).
    pub fn new(text: String) -> Self {
        Self(text)
    }

    pub fn text(&self) -> &str {
        &self.0
    }

    /// The document as a [`Value`].
    pub fn value(&self) -> serde_json::Result<Value> {
        serde_json::from_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_entries_are_read_from_the_stored_text() {
        let e = StoredEvent {
            aggregate_type: "Contact".into(),
            aggregate_id: "c1".into(),
            sequence: 1,
            event_type: "ContactUpdated".into(),
            event_version: "1.0".into(),
            payload: RawJson::default(),
            metadata: RawJson::new(serde_json::json!({"actor": "a1", "n": 3}).to_string()),
            checkpoint: Checkpoint::default(),
            recorded_at: chrono::Utc::now(),
        };
        assert_eq!(e.meta("actor").as_deref(), Some("a1"));
        assert_eq!(e.meta("n"), None);
        assert_eq!(e.meta("correlation_id"), None);
    }
}
