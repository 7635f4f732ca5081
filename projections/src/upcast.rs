//! Upcasting stored payloads to the shape today's code reads. A stored event is never rewritten
//! (the log is append-only); when an event's payload changes, its new version gets a number and
//! the old versions are converted here on read — by projections, replays and time travel alike.
//! cqrs-es's `EventUpcaster`s for loading aggregates are built from the same functions
//! (`commands::upcasters`).

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
