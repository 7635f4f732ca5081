//! Which projections and background jobs a server runs.

use std::sync::Arc;

use graphql::ApiState;
use projections::Projection;
use tokio::task::JoinHandle;

/// Every projection, in no particular order (each has its own checkpoint).
pub fn projections() -> Vec<Arc<dyn Projection>> {
    projections::all()
}

/// Jobs besides the projections (session expiry, routing); they stop with the server.
pub fn background_jobs(_state: &ApiState) -> Vec<JoinHandle<()>> {
    Vec::new()
}
