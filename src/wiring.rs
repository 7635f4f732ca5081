//! Which projections and background jobs a server runs.
//!
//! Besides the projections, every process runs three jobs: the router
//! ([`projections::routing::router`]), the logout reactor ([`projections::routing::logout`]) and
//! session expiry ([`expire_sessions_once`]). Running them in every process is safe: the router
//! decides under a PostgreSQL advisory lock, the reactor's work is idempotent, and expiring a
//! session twice ends it once.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use commands::Commands;
use graphql::ApiState;
use projections::log::StoredEvent;
use projections::routing::{logout, router};
use projections::runner::AfterBatch;
use projections::Projection;
use tokio::task::JoinHandle;

/// How often expired sessions are ended: a session outlives its expiry by at most this much,
/// which only delays the logout → pending of an agent who left without logging out.
pub const SESSION_EXPIRY_EVERY: Duration = Duration::from_secs(30);

/// Every projection, in no particular order (each has its own checkpoint).
pub fn projections() -> Vec<Arc<dyn Projection>> {
    projections::all()
}

/// Read models the commands write in the statement that appends their events
/// ([`commands::inline`]): the attendances, which every attendance mutation answers from.
pub fn apply_inline(commands: &Commands) {
    commands.apply_inline_to_attendances(Arc::new(projections::attendances::AttendancesProjection));
}

/// What runs after each batch a projection commits: a batch of the agents read model (roles,
/// services, who is active) clears the resolved bearer tokens
/// ([`commands::auth::session_cache`]).
pub fn after_projection_batch(commands: &Arc<Commands>) -> AfterBatch {
    let commands = Arc::clone(commands);
    Arc::new(move |projection: &'static str, _: &[StoredEvent]| {
        if projection == projections::agents::NAME {
            commands.sessions.clear();
        }
    })
}

/// The use cases of a running server, for jobs that outlive any request.
#[derive(Clone)]
struct JobCommands(ApiState);

impl Deref for JobCommands {
    type Target = Commands;

    fn deref(&self) -> &Commands {
        self.0.commands()
    }
}

/// Jobs besides the projections (routing, logout → pending, session expiry); they stop with the
/// server.
pub fn background_jobs(state: &ApiState) -> Vec<JoinHandle<()>> {
    let c = JobCommands(state.clone());
    vec![
        tokio::spawn(router::run(c.clone(), state.projector().clone())),
        tokio::spawn(logout::run(c.clone())),
        tokio::spawn(run_session_expiry(c)),
    ]
}

/// Ends every session past its expiry once; returns how many (the job's body, for tests).
pub async fn expire_sessions_once(state: &ApiState) -> commands::CommandResult<usize> {
    commands::agents::presence::expire_sessions(state.commands()).await
}

async fn run_session_expiry(c: JobCommands) {
    loop {
        tokio::time::sleep(SESSION_EXPIRY_EVERY).await;
        if let Err(e) = expire_sessions_once(&c.0).await {
            tracing::error!(error = %e, "session expiry failed");
        }
    }
}
