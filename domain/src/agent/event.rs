//! Events of the Agent aggregate, as stored. Their names ([`AgentEvent::event_type`]) never change;
//! a changed payload gets a new version and an upcaster.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::kinds::Role;
use crate::values::Email;

/// An uploaded image, stored by content hash; the bytes live outside the event store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// Lower-case hex SHA-256 of the bytes: the storage key.
    pub sha256: String,
    pub content_type: String,
    pub size: u64,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LogoutReason {
    Manual,
    Expired,
    PasswordChanged,
    Deactivated,
}

/// The fields an update changed; absent ones did not change.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AgentChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_ids: Option<Vec<Uuid>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

impl AgentChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Everything that happens to an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AgentEvent {
    /// `password_hash` is an argon2 PHC string; the audit API must redact it from payloads.
    AgentRegistered {
        agent_id: Uuid,
        name: String,
        email: Email,
        password_hash: String,
        role: Role,
        service_ids: Vec<Uuid>,
        max_concurrent: u32,
        at: DateTime<Utc>,
    },
    AgentUpdated {
        changes: AgentChanges,
        at: DateTime<Utc>,
    },
    /// `password_hash`: see [`AgentEvent::AgentRegistered`].
    AgentPasswordChanged {
        password_hash: String,
        at: DateTime<Utc>,
    },
    AgentImageChanged {
        image: ImageRef,
        at: DateTime<Utc>,
    },
    AgentLoggedIn {
        session_id: Uuid,
        at: DateTime<Utc>,
    },
    /// `went_offline`: this was the last open session, so the agent is now OFFLINE; the use case
    /// parks the agent's attendances in progress when it sees this.
    AgentLoggedOut {
        session_id: Uuid,
        reason: LogoutReason,
        went_offline: bool,
        at: DateTime<Utc>,
    },
    PauseStarted {
        reason_id: Uuid,
        at: DateTime<Utc>,
    },
    /// The running pause goes on under another reason; its start does not move.
    PauseReasonChanged {
        previous_reason_id: Uuid,
        reason_id: Uuid,
        at: DateTime<Utc>,
    },
    PauseEnded {
        reason_id: Uuid,
        since: DateTime<Utc>,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for AgentEvent {
    fn event_type(&self) -> String {
        match self {
            Self::AgentRegistered { .. } => "AgentRegistered",
            Self::AgentUpdated { .. } => "AgentUpdated",
            Self::AgentPasswordChanged { .. } => "AgentPasswordChanged",
            Self::AgentImageChanged { .. } => "AgentImageChanged",
            Self::AgentLoggedIn { .. } => "AgentLoggedIn",
            Self::AgentLoggedOut { .. } => "AgentLoggedOut",
            Self::PauseStarted { .. } => "PauseStarted",
            Self::PauseReasonChanged { .. } => "PauseReasonChanged",
            Self::PauseEnded { .. } => "PauseEnded",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
