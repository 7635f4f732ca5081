//! Read models applied in the statement that appends a command's events, and what a request
//! committed.
//!
//! A read model that is a fold of one stream per row (the attendances) can be brought up to
//! date by the command that appends to the stream: the command already holds each stream's
//! state after its new events (the aggregate, which is what the row stores), so the INSERT into
//! `events` and the rows it changes go to PostgreSQL as one statement. A mutation then answers
//! from the read model without waiting for the catch-up lane, and the write costs one round trip.
//! The lane still reads every event (it is what a rebuild and a second process rely on) and
//! skips the ones whose row already stands at or past their sequence.
//!
//! An inline read model writes a stream's rows only when they stand exactly where the stream
//! stood before the new events (its earlier events are all applied); otherwise it writes nothing
//! for that stream and the lane applies its events in log order, as for any event. When the
//! statement fails for the read model's sake, the events are appended alone: a read model's
//! failure stalls its lane, never a command.
//!
//! Each commit is written down in the request's [`Journal`] with the log position of its last
//! event, the event types and the read models applied inline, so a mutation waits for exactly
//! the lanes that still have to apply its events.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cqrs_es::Aggregate;

use crate::stored_event::Checkpoint;

/// A read model of aggregate `A` written in the statement that appends `A`'s events.
pub trait InlineProjection<A: Aggregate>: Send + Sync + 'static {
    /// The projection's name (its lane's checkpoint name).
    fn name(&self) -> &'static str;

    /// Data-modifying common table expressions joined to the append statement, after
    /// `appended` (the INSERT into `events`, returning `aggregate_id`, `sequence`). They take
    /// text parameters from `$8` on ([`Self::parameters`], in order) and must define
    /// `applied(id text)`: the streams whose rows they brought up to date.
    fn ctes(&self) -> &str;

    /// The values of the CTEs' parameters for the streams of one commit.
    fn parameters(&self, streams: &[Appending<'_, A>]) -> anyhow::Result<Vec<String>>;
}

/// One stream a commit appends to: where it stood, the state its new events lead to, and those
/// events with their sequences.
pub struct Appending<'a, A: Aggregate> {
    pub id: &'a str,
    /// The stream's last sequence before the commit (0 for a new stream).
    pub before: i64,
    pub state: &'a A,
    pub events: Vec<(i64, &'a A::Event)>,
}

/// What a commit wrote a stream's inline rows from: the state after it, and its new events with
/// their sequences.
pub struct Written<A: Aggregate> {
    pub state: A,
    pub events: Vec<(i64, A::Event)>,
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

/// The commits of one request, in order, and the states its inline rows were written from;
/// clones share it.
#[derive(Clone, Default)]
pub struct Journal(Arc<Mutex<Entries>>);

#[derive(Default)]
struct Entries {
    commits: Vec<Committed>,
    /// Stream id → what the request's last commit to it wrote its inline rows from (a
    /// [`Written`]), when that commit wrote them: those rows are this state's and these
    /// events', so the mutation can answer from them.
    written: HashMap<String, Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.commits()).finish()
    }
}

impl Journal {
    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn record(&self, c: Committed) {
        self.entries().commits.push(c);
    }

    /// Everything recorded so far.
    pub fn commits(&self) -> Vec<Committed> {
        self.entries().commits.clone()
    }

    /// Notes that a commit wrote the inline rows of stream `id` from `state` (or, with `None`,
    /// that a later commit to it did not: its rows may be behind).
    pub fn record_written<A: Aggregate + 'static>(&self, id: &str, state: Option<Written<A>>) {
        let mut entries = self.entries();
        match state {
            Some(state) => entries.written.insert(id.to_string(), Arc::new(state)),
            None => entries.written.remove(id),
        };
    }

    /// What stream `id`'s inline rows were last written from in this request, if its last
    /// commit wrote them.
    pub fn written<A: Aggregate + 'static>(&self, id: &str) -> Option<Arc<Written<A>>> {
        let state = self.entries().written.get(id).cloned()?;
        state.downcast::<Written<A>>().ok()
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

/// [`Journal::record_written`] in the journal of the running command, if any (`state` is only
/// built then: a command run outside a request clones nothing).
pub fn record_written<A: Aggregate + 'static>(
    id: &str,
    state: impl FnOnce() -> Option<Written<A>>,
) {
    let _ = JOURNAL.try_with(|j| j.record_written(id, state()));
}
