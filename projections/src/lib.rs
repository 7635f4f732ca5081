//! Read models built from the event log, and the machinery that keeps them exactly equal to it.
//!
//! # Layout
//! - [`log`]: reading the event log in a global order that never skips a late commit.
//! - [`projection`]: the trait every read model implements.
//! - [`fold`]: folding a batch of events into stream-shaped rows in memory.
//! - [`rows`]: writing many rows at once (JSON upserts, COPY).
//! - [`replay`]: rebuilding read models beside the live ones; [`dependent_views`]: views kept
//!   across the swap.
//! - [`runner`]: the crash-safe catch-up consumer running the projections.
//! - [`agents`]: the agents read model.
//! - [`contacts`]: the contacts read model and its searches; [`like`]: search terms as literal
//!   `LIKE` patterns.
//! - [`attendances`]: attendances, their messages and WhatsApp windows, and their lists.
//! - [`routing`]: the routing read model, the router and the logout reactor; [`counters`]: items 9–11.
#![deny(rustdoc::broken_intra_doc_links)]

pub mod agents;
pub mod attendances;
pub mod audit;
pub mod contacts;
pub mod counters;
pub mod dependent_views;
pub mod fold;
mod lane_tx;
pub mod like;
pub mod log;
pub mod owed;
pub mod projection;
pub mod replay;
pub mod routing;
pub mod rows;
pub mod runner;

pub use log::{Checkpoint, StoredEvent};
pub use projection::{ApplyFuture, Projection};
pub use runner::Projector;

use std::sync::Arc;

/// Every projection of the product.
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(agents::AgentsProjection),
        Arc::new(contacts::ContactsProjection),
        Arc::new(attendances::AttendancesProjection),
        Arc::new(routing::RoutingProjection),
    ]
}
