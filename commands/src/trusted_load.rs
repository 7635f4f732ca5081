//! Deciding a command on the cached aggregate without asking the log first.
//!
//! The cache ([`crate::cache`]) holds states built from committed events. Catching one up costs a
//! query that nearly always returns nothing, so [`crate::store::execute`] first tries a command
//! on the cached state as it is, and lets the append check it: the events go in at the sequences
//! after the cached one, and a stream that moved on meanwhile already has the first of them (a
//! stream's sequences have no holes), so the INSERT fails with the optimistic-lock conflict and
//! the command is decided again on the caught-up state. An accepted command therefore commits
//! exactly when its state was current, as with a catch-up before it.
//!
//! What the append cannot check is checked by catching up before answering:
//! - a refusal decided on a trusted state is decided again on the caught-up state, so a command
//!   is never refused for a state that is no longer the stream's;
//! - a command that decided nothing (a no-op) asks the log whether the stream moved on, and
//!   counts as a conflict if it did.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Whether the running command may use a cached state unchecked, and whether it did.
#[derive(Debug, Default)]
pub struct Trust {
    allowed: bool,
    used: AtomicBool,
}

impl Trust {
    /// For one attempt of a command: `allowed` lets its load skip the catch-up.
    pub fn new(allowed: bool) -> Arc<Trust> {
        Arc::new(Trust {
            allowed,
            used: AtomicBool::new(false),
        })
    }

    /// Whether the attempt's state came from the cache unchecked.
    pub fn used(&self) -> bool {
        self.used.load(Ordering::Relaxed)
    }
}

tokio::task_local! {
    /// The trust of the command the current task runs ([`crate::store::execute`] sets it around
    /// cqrs-es, whose store interface carries no request).
    pub static TRUST: Arc<Trust>;
}

/// Whether the running command may use a cached state unchecked.
pub fn allowed() -> bool {
    TRUST.try_with(|t| t.allowed).unwrap_or(false)
}

/// Notes that the running command's state came from the cache unchecked.
pub fn mark_used() {
    let _ = TRUST.try_with(|t| t.used.store(true, Ordering::Relaxed));
}

/// Whether the running command's state came from the cache unchecked.
pub fn used() -> bool {
    TRUST.try_with(|t| t.used()).unwrap_or(false)
}
