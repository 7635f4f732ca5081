//! Upcasting stored payloads to the shape today's code reads. A stored event is never rewritten
//! (the log is append-only); when an event's payload changes, its new version gets a number and
//! the old versions are converted here on read — by projections, replays and time travel alike.
//! cqrs-es's `EventUpcaster`s for loading aggregates are built from the same functions
//! (`commands::upcasters`).

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::log::StoredEvent;

/// The payload of `e`, converted to the current version of its event type.
pub fn upcast(e: &StoredEvent) -> anyhow::Result<Value> {
    Ok(domain::upcasting::upcast(
        &e.event_type,
        &e.event_version,
        e.payload.clone(),
    ))
}

/// The event `e` holds, decoded at the current version of its type. A payload already at that
/// version (nearly all of them) is read in place, without copying it first.
pub fn decode<T: DeserializeOwned>(e: &StoredEvent) -> anyhow::Result<T> {
    if domain::upcasting::is_current(&e.event_type, &e.event_version) {
        Ok(T::deserialize(&e.payload)?)
    } else {
        Ok(serde_json::from_value(upcast(e)?)?)
    }
}
