//! The Agent aggregate: a human operator's registration, credentials, image and presence.
//!
//! # Layout
//! - [`command`]: what may be asked of an agent ([`AgentCommand`]).
//! - [`event`]: what happened to one ([`AgentEvent`]), as stored.
//! - [`error`]: why a command was refused ([`AgentError`]).
//! - [`aggregate`]: the state rebuilt from events, [`Agent::decide`] and the cqrs-es glue.
//! - [`rules`]: the limits and checks (name, password policy, concurrency, image).
//!
//! Presence is derived, never stored apart: OFFLINE while no session is open, PAUSED while a pause
//! runs, ONLINE otherwise. An agent may hold several sessions (tabs, devices); the login session
//! that [`Agent::logged_seconds`] measures starts when the first opens and ends when the last
//! closes.

pub mod aggregate;
pub mod command;
pub mod error;
pub mod event;
pub mod rules;

#[cfg(test)]
mod tests;

pub use aggregate::{ActivePause, Agent, AgentState};
pub use command::{
    AgentCommand, ChangeAgentImage, ChangePassword, EndPause, LogIn, LogOut, RegisterAgent,
    StartPause, UpdateAgent,
};
pub use error::AgentError;
pub use event::{AgentChanges, AgentEvent, ImageRef, LogoutReason};
