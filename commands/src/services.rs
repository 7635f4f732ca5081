//! `Commands`: everything the use cases share — the pool, the clock, one cqrs-es framework per
//! aggregate (and handles on the attendances' store, for bulk actions, and the contacts' store,
//! for reading a contact from its events), and the deployment's settings.

use std::sync::Arc;

use chrono::Duration;
use domain::agent::Agent;
use domain::attendance::Attendance;
use domain::contact::Contact;
use sqlx::PgPool;

use crate::auth::session_cache::SessionCache;
use crate::cache::CachedStore;
use crate::clock::Clock;
use crate::inline::InlineProjection;
use crate::store::{cqrs, Cqrs};

/// Deployment settings the use cases obey.
#[derive(Debug, Clone)]
pub struct CommandSettings {
    /// How long a login session lasts.
    pub session_ttl: Duration,
}

impl Default for CommandSettings {
    fn default() -> Self {
        Self {
            session_ttl: crate::auth::sessions::DEFAULT_SESSION_TTL,
        }
    }
}

/// The shared handle of every use case.
pub struct Commands {
    pub pool: PgPool,
    pub clock: Clock,
    pub settings: CommandSettings,
    pub contacts: Cqrs<Contact>,
    pub agents: Cqrs<Agent>,
    pub attendances: Cqrs<Attendance>,
    /// The attendances' store, sharing the framework's cache: bulk actions commit through it.
    pub attendance_store: CachedStore<Attendance>,
    /// The contacts' store, sharing the framework's cache: a contact as its events left it.
    pub contact_store: CachedStore<Contact>,
    /// Bearer tokens resolved in the last second.
    pub sessions: Arc<SessionCache>,
}

impl Commands {
    pub fn new(pool: PgPool, clock: Clock, settings: CommandSettings) -> Self {
        let (attendances, attendance_store) = cqrs(pool.clone());
        let (contacts, contact_store) = cqrs(pool.clone());
        Self {
            contacts,
            contact_store,
            sessions: Arc::default(),
            agents: cqrs(pool.clone()).0,
            attendances,
            attendance_store,
            pool,
            clock,
            settings,
        }
    }

    /// Writes `projection`'s rows in the statement of every commit of attendances
    /// ([`crate::inline`]).
    pub fn apply_inline_to_attendances(&self, projection: Arc<dyn InlineProjection<Attendance>>) {
        self.attendance_store.apply_inline(projection);
    }
}
