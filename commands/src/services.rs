//! `Commands`: everything the use cases share — the pool, the clock, one cqrs-es framework per
//! aggregate, and the deployment's settings.

use chrono::Duration;
use domain::agent::Agent;
use domain::attendance::Attendance;
use domain::contact::Contact;
use sqlx::PgPool;

use crate::clock::Clock;
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
}

impl Commands {
    pub fn new(pool: PgPool, clock: Clock, settings: CommandSettings) -> Self {
        Self {
            contacts: cqrs(pool.clone()),
            agents: cqrs(pool.clone()),
            attendances: cqrs(pool.clone()),
            pool,
            clock,
            settings,
        }
    }
}
