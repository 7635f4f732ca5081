//! Why the Agent aggregate refused a command. Each variant's doc names the API code
//! (`extensions.code`) that `graphql/src/error.rs` maps it to.

use crate::kinds::PresenceStatus;
use crate::validation::{FieldError, ValidationErrors};
use uuid::Uuid;

/// A refusal of an agent command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentError {
    /// VALIDATION: bad input, every bad field listed.
    #[error("{0}")]
    Validation(ValidationErrors),
    /// NOT_FOUND: no agent with this id.
    #[error("agent not found")]
    NotFound,
    /// CONFLICT: an agent with this id is already registered.
    #[error("agent already registered")]
    AlreadyRegistered,
    /// CONFLICT (`extensions.existingId`): another agent uses this e-mail.
    #[error("e-mail already in use")]
    EmailInUse { existing_id: Uuid },
    /// FORBIDDEN: the agent is inactive, or an admin setting does not allow it.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// LIMIT_EXCEEDED: the image is larger than [`super::rules::IMAGE_MAX_BYTES`].
    #[error("image too large: {size} bytes, at most {limit}")]
    ImageTooLarge { size: u64, limit: u64 },
    /// INVALID_STATE: the command does not apply to the agent's current presence.
    #[error("cannot {action} while {presence}")]
    InvalidState {
        presence: PresenceStatus,
        action: &'static str,
    },
}

impl From<ValidationErrors> for AgentError {
    fn from(e: ValidationErrors) -> Self {
        Self::Validation(e)
    }
}

impl From<FieldError> for AgentError {
    fn from(e: FieldError) -> Self {
        Self::Validation(e.into())
    }
}
