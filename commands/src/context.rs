//! Who runs a command and why: the actor, the correlation and causation ids, and the time. Every
//! event is stored with this as its metadata, which is what audits read.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use domain::kinds::Role;
use uuid::Uuid;

use crate::inline::Journal;

/// The principal a command runs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A logged-in agent (any role).
    Agent {
        id: Uuid,
        role: Role,
        session_id: Option<Uuid>,
    },
    /// A channel gateway or flow engine, by its token's name.
    Integration { id: Uuid, name: String },
    /// The server itself (routing, expiry, administration from the command line).
    System,
}

impl Actor {
    /// How the actor is written in event metadata: an agent id, `integration:<name>` or `system`.
    pub fn audit_name(&self) -> String {
        match self {
            Actor::Agent { id, .. } => id.to_string(),
            Actor::Integration { name, .. } => format!("integration:{name}"),
            Actor::System => "system".to_string(),
        }
    }

    pub fn agent_id(&self) -> Option<Uuid> {
        match self {
            Actor::Agent { id, .. } => Some(*id),
            _ => None,
        }
    }

    pub fn role(&self) -> Option<Role> {
        match self {
            Actor::Agent { role, .. } => Some(*role),
            Actor::Integration { .. } => Some(Role::Integration),
            Actor::System => None,
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Actor::Agent {
                role: Role::Admin,
                ..
            } | Actor::System
        )
    }

    /// Supervisors and admins: may audit and see every attendance of their accounts.
    pub fn is_supervisor_or_admin(&self) -> bool {
        matches!(
            self,
            Actor::Agent {
                role: Role::Admin | Role::Supervisor,
                ..
            } | Actor::System
        )
    }
}

/// Everything a use case needs to know about the request besides its input.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub actor: Actor,
    pub correlation_id: String,
    /// The event that caused this command, for process managers (`aggregate/id/sequence`).
    pub causation_id: Option<String>,
    pub now: DateTime<Utc>,
    /// What the request committed, for its read-your-writes wait (clones share it).
    pub journal: Journal,
}

impl CommandContext {
    pub fn new(actor: Actor, correlation_id: impl Into<String>, now: DateTime<Utc>) -> Self {
        Self {
            actor,
            correlation_id: correlation_id.into(),
            causation_id: None,
            now,
            journal: Journal::default(),
        }
    }

    /// A system context with a fresh correlation id.
    pub fn system(now: DateTime<Utc>) -> Self {
        Self::new(Actor::System, Uuid::new_v4().to_string(), now)
    }

    /// The same request, caused by one event (process managers).
    pub fn caused_by(&self, causation_id: impl Into<String>) -> Self {
        Self {
            causation_id: Some(causation_id.into()),
            ..self.clone()
        }
    }

    /// The metadata stored with each event.
    pub fn metadata(&self) -> HashMap<String, String> {
        let mut m = HashMap::with_capacity(4);
        m.insert("actor".to_string(), self.actor.audit_name());
        m.insert("correlation_id".to_string(), self.correlation_id.clone());
        if let Some(c) = &self.causation_id {
            m.insert("causation_id".to_string(), c.clone());
        }
        m.insert(
            "at".to_string(),
            self.now.to_rfc3339_opts(SecondsFormat::Micros, true),
        );
        m
    }
}
