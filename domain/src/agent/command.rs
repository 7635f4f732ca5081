//! Commands of the Agent aggregate. Each carries `at` (the injected clock) and whatever lookup its
//! decision needs (an e-mail taken, an admin setting), fetched beforehand by the use case.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::event::{ImageRef, LogoutReason};
use crate::kinds::Role;

/// Everything that may be asked of an agent.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentCommand {
    Register(RegisterAgent),
    Update(UpdateAgent),
    ChangePassword(ChangePassword),
    ChangeImage(ChangeAgentImage),
    LogIn(LogIn),
    LogOut(LogOut),
    StartPause(StartPause),
    EndPause(EndPause),
}

/// Registers a new agent (administration).
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterAgent {
    pub agent_id: Uuid,
    /// Raw; trimmed and checked against [`crate::values::text::NAME_MAX`].
    pub name: String,
    /// Raw; trimmed, checked and lower-cased by [`crate::values::Email::parse`].
    pub email: String,
    /// Uniqueness lookup: the agent that already uses this e-mail, if any.
    pub email_taken_by: Option<Uuid>,
    /// Already hashed (argon2) by the use case after [`super::rules::check_password_policy`].
    pub password_hash: String,
    pub role: Role,
    pub service_ids: Vec<Uuid>,
    pub max_concurrent: u32,
    pub at: DateTime<Utc>,
}

/// Changes some of an agent's settings; `None` leaves a field as it is. Emits only real changes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpdateAgent {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub service_ids: Option<Vec<Uuid>>,
    pub max_concurrent: Option<u32>,
    /// `Some(false)` deactivates: the agent's sessions end (reason `Deactivated`).
    pub active: Option<bool>,
    pub at: DateTime<Utc>,
}

/// Replaces the password hash and ends every other session of the agent.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangePassword {
    /// Already hashed by the use case after [`super::rules::check_password_policy`].
    pub new_password_hash: String,
    /// The session that asked; it stays open. `None` ends them all.
    pub current_session_id: Option<Uuid>,
    /// Lookup: the admin setting `allowPasswordChange`.
    pub allowed_by_settings: bool,
    pub at: DateTime<Utc>,
}

/// Replaces the agent's image (already stored by the use case under its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeAgentImage {
    pub image: ImageRef,
    /// Lookup: the admin setting `allowImageChange`.
    pub allowed_by_settings: bool,
    pub at: DateTime<Utc>,
}

/// Opens a session (after the use case has verified the password).
#[derive(Debug, Clone, PartialEq)]
pub struct LogIn {
    pub session_id: Uuid,
    pub at: DateTime<Utc>,
}

/// Closes a session. Closing one that is not open changes nothing, so that an expiry and a
/// manual logout racing each other both succeed.
#[derive(Debug, Clone, PartialEq)]
pub struct LogOut {
    pub session_id: Uuid,
    pub reason: LogoutReason,
    pub at: DateTime<Utc>,
}

/// Starts a pause, or changes the reason of the running one.
#[derive(Debug, Clone, PartialEq)]
pub struct StartPause {
    pub reason_id: Uuid,
    pub at: DateTime<Utc>,
}

/// Ends the running pause.
#[derive(Debug, Clone, PartialEq)]
pub struct EndPause {
    pub at: DateTime<Utc>,
}
