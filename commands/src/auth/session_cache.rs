//! Bearer tokens resolved in the last second, so that a client's burst of requests asks the
//! database once.
//!
//! An entry holds what [`resolve_token`] found for a token's hash (the actor, and the session's
//! expiry, checked against each request's clock) for [`SESSION_CACHE_TTL`]. Everything this
//! process does that can end a session or change what it grants clears the cache: ending
//! sessions (logout, password change, deactivation, expiry) and every batch the agents read
//! model applies (role, services, active). A resolution that was running while the cache was
//! cleared is not kept (a generation counter), so a cleared cache never refills with what the
//! database said before the change. A session ended by another server process is still honoured
//! here for at most [`SESSION_CACHE_TTL`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::sessions::{resolve_bearer, Bearer};
use crate::context::Actor;
use crate::error::CommandResult;
use crate::tokens::token_hash;

/// How long a resolved token is trusted without asking the database.
pub const SESSION_CACHE_TTL: Duration = Duration::from_secs(1);

/// Tokens kept at most; past it the cache starts over (memory stays bounded).
const CAPACITY: usize = 10_000;

struct Entry {
    bearer: Option<Bearer>,
    at: Instant,
}

/// The cache of one server process.
#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<Vec<u8>, Entry>>,
    generation: AtomicU64,
}

impl SessionCache {
    /// The actor behind `token` at `now`, as [`resolve_bearer`] finds it, asking the database
    /// at most once per token and [`SESSION_CACHE_TTL`].
    pub async fn resolve(
        &self,
        pool: &PgPool,
        token: &str,
        now: DateTime<Utc>,
    ) -> CommandResult<Option<Actor>> {
        let hash = token_hash(token);
        if let Some(bearer) = self.fresh(&hash) {
            return Ok(bearer.and_then(|b| b.actor_at(now)));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let bearer = resolve_bearer(pool, &hash, now).await?;
        let actor = bearer.as_ref().and_then(|b| b.actor_at(now));
        if let Ok(mut entries) = self.entries.lock() {
            // Cleared meanwhile: what was read may predate the change.
            if self.generation.load(Ordering::Acquire) == generation {
                if entries.len() >= CAPACITY {
                    entries.clear();
                }
                entries.insert(
                    hash,
                    Entry {
                        bearer,
                        at: Instant::now(),
                    },
                );
            }
        }
        Ok(actor)
    }

    fn fresh(&self, hash: &[u8]) -> Option<Option<Bearer>> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(hash)?;
        (entry.at.elapsed() < SESSION_CACHE_TTL).then(|| entry.bearer.clone())
    }

    /// Forgets every token: a session ended, or what sessions grant changed.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.clear();
        }
    }
}
