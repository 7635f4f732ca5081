//! Read models applied in the command's own transaction, and what a request committed.
//!
//! A read model that is a fold of one stream per row (the attendances) can be brought up to
//! date by the command that appends to the stream: the events and the rows they change commit
//! together, so a mutation can answer from the read model without waiting for the catch-up
//! lane, and PostgreSQL does the work once per command instead of once per command plus once
//! per lane batch. The lane still reads every event (it is what a rebuild and a second process
//! rely on) and skips the ones whose row already stands at or past their sequence.
//!
//! An inline application writes only when the rows stand exactly before the new events (the
//! stream's earlier events are all applied); otherwise it writes nothing and the lane applies
//! them in log order, as for any event. When it fails, the command is committed without it: a
//! read model's failure stalls its lane, never a command.
//!
//! Each commit is written down in the request's [`Journal`] with the log position of its last
//! event, the event types and the read models applied inline, so a mutation waits for exactly
//! the lanes that still have to apply its events.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use sqlx::PgConnection;

use crate::stored_event::{Checkpoint, StoredEvent};

/// The future of an inline application: whether it applied the events.
pub type InlineFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<bool>> + Send + 'a>>;

/// A read model the store applies in the transaction that appends a stream's events.
pub trait InlineProjection: Send + Sync + 'static {
    /// The projection's name (its lane's checkpoint name).
    fn name(&self) -> &'static str;

    /// The aggregate type whose commits it follows.
    fn aggregate_type(&self) -> &'static str;

    /// Applies `events`, just appended in `tx` (several streams, each in sequence order), when
    /// every stream's rows stand exactly before them; returns `false`, having written nothing,
    /// when one does not (its lane will apply them).
    fn apply_appended<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [StoredEvent],
    ) -> InlineFuture<'a>;
}

/// One commit of a request: where its last event lies in the log, what it wrote, and which read
/// models already hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub aggregate_type: &'static str,
    pub aggregate_ids: Vec<String>,
    pub head: Checkpoint,
    pub event_types: Vec<String>,
    pub applied_inline: Vec<&'static str>,
}

/// The commits of one request, in order; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Journal(Arc<Mutex<Vec<Committed>>>);

impl Journal {
    pub fn record(&self, c: Committed) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(c);
    }

    /// Everything recorded so far.
    pub fn commits(&self) -> Vec<Committed> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

tokio::task_local! {
    /// The journal of the command the current task runs ([`crate::store::execute`] sets it
    /// around cqrs-es, whose store interface carries no request).
    pub static JOURNAL: Journal;
}

/// Records `c` in the journal of the running command, if any.
pub fn record(c: Committed) {
    let _ = JOURNAL.try_with(|j| j.record(c));
}
