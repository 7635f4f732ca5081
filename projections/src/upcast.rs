//! Upcasting stored payloads to the shape today's code reads. A stored event is never rewritten
//! (the log is append-only); when an event's payload changes, its new version gets a number and
//! the old versions are converted here on read — by projections, replays and time travel alike.
//! cqrs-es's `EventUpcaster`s for loading aggregates are built from the same functions
//! (`commands::upcasters`).

use serde::de::DeserializeOwned;

use crate::log::StoredEvent;

/// The event `e` holds, decoded at the current version of its type. A payload already at that
/// version (nearly all of them) is decoded straight from its stored text.
pub fn decode<T: DeserializeOwned>(e: &StoredEvent) -> anyhow::Result<T> {
    Ok(e.decode()?)
}
