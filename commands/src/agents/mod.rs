//! Agent use cases: registration and settings (administration), credentials, presence.

pub mod change_password;
pub mod image;
pub mod lookup;
pub mod presence;
pub mod register;
pub mod update;

use domain::agent::AgentError;

use crate::error::CommandError;

impl From<AgentError> for CommandError {
    fn from(e: AgentError) -> Self {
        match e {
            AgentError::Validation(v) => CommandError::Validation(v),
            AgentError::NotFound => CommandError::not_found("agent"),
            AgentError::AlreadyRegistered => CommandError::Conflict {
                message: "agent already registered".into(),
                existing_id: None,
            },
            AgentError::EmailInUse { existing_id } => CommandError::Conflict {
                message: "e-mail already in use".into(),
                existing_id: Some(existing_id),
            },
            AgentError::Forbidden(why) => CommandError::Forbidden(why),
            e @ AgentError::ImageTooLarge { .. } => CommandError::LimitExceeded(e.to_string()),
            e @ AgentError::InvalidState { .. } => CommandError::InvalidState(e.to_string()),
        }
    }
}
