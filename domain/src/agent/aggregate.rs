//! The Agent aggregate's state, its pure [`Agent::decide`], and the cqrs-es glue.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::command::{
    AgentCommand, ChangeAgentImage, ChangePassword, EndPause, LogIn, LogOut, RegisterAgent,
    StartPause, UpdateAgent,
};
use super::error::AgentError;
use super::event::{AgentChanges, AgentEvent, LogoutReason};
use super::rules;
use crate::kinds::{PresenceStatus, Role};
use crate::validation::{FieldError, ValidationErrors};
use crate::values::Email;

/// The agent as rebuilt from its events; `None` until registered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    state: Option<AgentState>,
    /// Number of events applied.
    version: u64,
}

/// A registered agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    pub id: Uuid,
    pub name: String,
    pub email: Email,
    pub password_hash: String,
    pub role: Role,
    pub service_ids: Vec<Uuid>,
    pub max_concurrent: u32,
    pub active: bool,
    pub image: Option<super::event::ImageRef>,
    /// Open sessions; the agent is logged in while this is non-empty. Sorted, so that the events
    /// that end them all come out in a stable order.
    pub sessions: BTreeSet<Uuid>,
    /// When the sessions went from none to one: the start of the current login session.
    pub logged_in_since: Option<DateTime<Utc>>,
    pub pause: Option<ActivePause>,
}

/// The running pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivePause {
    pub reason_id: Uuid,
    pub since: DateTime<Utc>,
}

impl Agent {
    /// The registered agent, or `None` before registration.
    pub fn state(&self) -> Option<&AgentState> {
        self.state.as_ref()
    }

    /// Number of events in the agent's stream.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// OFFLINE without an open session, PAUSED during a pause, ONLINE otherwise.
    pub fn presence(&self) -> PresenceStatus {
        match &self.state {
            Some(s) if !s.sessions.is_empty() => {
                if s.pause.is_some() {
                    PresenceStatus::Paused
                } else {
                    PresenceStatus::Online
                }
            }
            _ => PresenceStatus::Offline,
        }
    }

    /// Seconds since the current login session started, pauses included; 0 while offline (and
    /// never negative, should the clock step back).
    pub fn logged_seconds(&self, now: DateTime<Utc>) -> i64 {
        self.state
            .as_ref()
            .and_then(|s| s.logged_in_since)
            .map_or(0, |since| (now - since).num_seconds().max(0))
    }

    /// Whether the router may give this agent an attendance now: active, logged in, not paused.
    /// The concurrent limit is the router's to check, since it counts attendances.
    pub fn is_available(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.active) && self.presence() == PresenceStatus::Online
    }

    /// Decides what a command changes: the events to store, or why it is refused. Pure.
    pub fn decide(&self, command: AgentCommand) -> Result<Vec<AgentEvent>, AgentError> {
        if let AgentCommand::Register(cmd) = command {
            return self.register(cmd);
        }
        let state = self.state.as_ref().ok_or(AgentError::NotFound)?;
        match command {
            AgentCommand::Register(_) => unreachable!("handled above"),
            AgentCommand::Update(cmd) => update(state, cmd),
            AgentCommand::ChangePassword(cmd) => change_password(state, cmd),
            AgentCommand::ChangeImage(cmd) => change_image(cmd),
            AgentCommand::LogIn(cmd) => log_in(state, cmd),
            AgentCommand::LogOut(cmd) => Ok(log_out(state, cmd)),
            AgentCommand::StartPause(cmd) => self.start_pause(state, cmd),
            AgentCommand::EndPause(cmd) => self.end_pause(state, cmd),
        }
    }

    fn register(&self, cmd: RegisterAgent) -> Result<Vec<AgentEvent>, AgentError> {
        if self.state.is_some() {
            return Err(AgentError::AlreadyRegistered);
        }
        let mut errors = ValidationErrors::default();
        let name = errors.check("name", rules::parse_name(&cmd.name));
        let email = errors.check("email", Email::parse(&cmd.email));
        let role = errors.check("role", rules::check_role(cmd.role));
        let service_ids =
            errors.check("serviceIds", rules::normalize_service_ids(&cmd.service_ids));
        let max_concurrent = errors.check(
            "maxConcurrent",
            rules::check_max_concurrent(cmd.max_concurrent),
        );
        if cmd.password_hash.is_empty() {
            errors.push(FieldError::new("password", "is required"));
        }
        errors.into_result()?;
        if let Some(existing_id) = cmd.email_taken_by.filter(|id| *id != cmd.agent_id) {
            return Err(AgentError::EmailInUse { existing_id });
        }
        let (Some(name), Some(email), Some(role), Some(service_ids), Some(max_concurrent)) =
            (name, email, role, service_ids, max_concurrent)
        else {
            unreachable!("every field parsed when no error was recorded");
        };
        Ok(vec![AgentEvent::AgentRegistered {
            agent_id: cmd.agent_id,
            name,
            email,
            password_hash: cmd.password_hash,
            role,
            service_ids,
            max_concurrent,
            at: cmd.at,
        }])
    }

    fn start_pause(
        &self,
        state: &AgentState,
        cmd: StartPause,
    ) -> Result<Vec<AgentEvent>, AgentError> {
        if state.sessions.is_empty() {
            return Err(AgentError::InvalidState {
                presence: self.presence(),
                action: "start a pause",
            });
        }
        Ok(match state.pause {
            None => vec![AgentEvent::PauseStarted {
                reason_id: cmd.reason_id,
                at: cmd.at,
            }],
            // Asking again for the running reason is a retry, not a change.
            Some(p) if p.reason_id == cmd.reason_id => vec![],
            Some(p) => vec![AgentEvent::PauseReasonChanged {
                previous_reason_id: p.reason_id,
                reason_id: cmd.reason_id,
                at: cmd.at,
            }],
        })
    }

    fn end_pause(&self, state: &AgentState, cmd: EndPause) -> Result<Vec<AgentEvent>, AgentError> {
        match state.pause {
            Some(p) => Ok(vec![AgentEvent::PauseEnded {
                reason_id: p.reason_id,
                since: p.since,
                at: cmd.at,
            }]),
            None => Err(AgentError::InvalidState {
                presence: self.presence(),
                action: "end a pause",
            }),
        }
    }
}

fn update(state: &AgentState, cmd: UpdateAgent) -> Result<Vec<AgentEvent>, AgentError> {
    let mut errors = ValidationErrors::default();
    let name = cmd
        .name
        .map(|n| errors.check("name", rules::parse_name(&n)));
    let role = cmd.role.map(|r| errors.check("role", rules::check_role(r)));
    let service_ids = cmd
        .service_ids
        .map(|ids| errors.check("serviceIds", rules::normalize_service_ids(&ids)));
    let max_concurrent = cmd
        .max_concurrent
        .map(|n| errors.check("maxConcurrent", rules::check_max_concurrent(n)));
    errors.into_result()?;

    // Only what differs from the state is a change; an update that changes nothing emits nothing.
    let changes = AgentChanges {
        name: name.flatten().filter(|n| *n != state.name),
        role: role.flatten().filter(|r| *r != state.role),
        service_ids: service_ids
            .flatten()
            .filter(|ids| *ids != state.service_ids),
        max_concurrent: max_concurrent
            .flatten()
            .filter(|n| *n != state.max_concurrent),
        active: cmd.active.filter(|a| *a != state.active),
    };
    if changes.is_empty() {
        return Ok(vec![]);
    }
    let deactivated = changes.active == Some(false);
    let mut events = vec![AgentEvent::AgentUpdated {
        changes,
        at: cmd.at,
    }];
    if deactivated {
        // An inactive agent may not stay logged in: every session ends, and with them the pause.
        events.extend(end_sessions(state, None, LogoutReason::Deactivated, cmd.at));
    }
    Ok(events)
}

fn change_password(state: &AgentState, cmd: ChangePassword) -> Result<Vec<AgentEvent>, AgentError> {
    if !cmd.allowed_by_settings {
        return Err(AgentError::Forbidden(
            "password change is disabled by the administrator".into(),
        ));
    }
    if cmd.new_password_hash.is_empty() {
        return Err(FieldError::new("newPassword", "is required").into());
    }
    let mut events = vec![AgentEvent::AgentPasswordChanged {
        password_hash: cmd.new_password_hash,
        at: cmd.at,
    }];
    // Whoever knew the old password is signed out everywhere but here.
    events.extend(end_sessions(
        state,
        cmd.current_session_id,
        LogoutReason::PasswordChanged,
        cmd.at,
    ));
    Ok(events)
}

fn change_image(cmd: ChangeAgentImage) -> Result<Vec<AgentEvent>, AgentError> {
    if !cmd.allowed_by_settings {
        return Err(AgentError::Forbidden(
            "image change is disabled by the administrator".into(),
        ));
    }
    if cmd.image.size > rules::IMAGE_MAX_BYTES {
        return Err(AgentError::ImageTooLarge {
            size: cmd.image.size,
            limit: rules::IMAGE_MAX_BYTES,
        });
    }
    rules::check_image(&cmd.image).map_err(|e| ValidationErrors::from(e.under("image")))?;
    Ok(vec![AgentEvent::AgentImageChanged {
        image: cmd.image,
        at: cmd.at,
    }])
}

fn log_in(state: &AgentState, cmd: LogIn) -> Result<Vec<AgentEvent>, AgentError> {
    if !state.active {
        return Err(AgentError::Forbidden("the agent is inactive".into()));
    }
    if state.sessions.contains(&cmd.session_id) {
        return Ok(vec![]);
    }
    Ok(vec![AgentEvent::AgentLoggedIn {
        session_id: cmd.session_id,
        at: cmd.at,
    }])
}

fn log_out(state: &AgentState, cmd: LogOut) -> Vec<AgentEvent> {
    if !state.sessions.contains(&cmd.session_id) {
        return vec![];
    }
    let last = state.sessions.len() == 1;
    let mut events = Vec::with_capacity(2);
    if let (true, Some(p)) = (last, state.pause) {
        // An offline agent cannot be on a break: the pause ends first, at the same instant.
        events.push(AgentEvent::PauseEnded {
            reason_id: p.reason_id,
            since: p.since,
            at: cmd.at,
        });
    }
    events.push(AgentEvent::AgentLoggedOut {
        session_id: cmd.session_id,
        reason: cmd.reason,
        went_offline: last,
        at: cmd.at,
    });
    events
}

/// Ends every session but `keep`: the pause first when the agent goes offline, then the sessions
/// in id order, the last one flagged `went_offline`.
fn end_sessions(
    state: &AgentState,
    keep: Option<Uuid>,
    reason: LogoutReason,
    at: DateTime<Utc>,
) -> Vec<AgentEvent> {
    let ending: Vec<Uuid> = state
        .sessions
        .iter()
        .copied()
        .filter(|s| Some(*s) != keep)
        .collect();
    let goes_offline = !ending.is_empty() && ending.len() == state.sessions.len();
    let mut events = Vec::with_capacity(ending.len() + 1);
    if let (true, Some(p)) = (goes_offline, state.pause) {
        events.push(AgentEvent::PauseEnded {
            reason_id: p.reason_id,
            since: p.since,
            at,
        });
    }
    let n = ending.len();
    events.extend(ending.into_iter().enumerate().map(|(i, session_id)| {
        AgentEvent::AgentLoggedOut {
            session_id,
            reason,
            went_offline: goes_offline && i + 1 == n,
            at,
        }
    }));
    events
}

impl Aggregate for Agent {
    const TYPE: &'static str = "Agent";
    type Command = AgentCommand;
    type Event = AgentEvent;
    type Error = AgentError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.version += 1;
        if let AgentEvent::AgentRegistered {
            agent_id,
            name,
            email,
            password_hash,
            role,
            service_ids,
            max_concurrent,
            ..
        } = event
        {
            self.state = Some(AgentState {
                id: agent_id,
                name,
                email,
                password_hash,
                role,
                service_ids,
                max_concurrent,
                active: true,
                image: None,
                sessions: BTreeSet::new(),
                logged_in_since: None,
                pause: None,
            });
            return;
        }
        // Every other event presupposes a registered agent; cqrs-es never applies one without it.
        let Some(s) = self.state.as_mut() else { return };
        match event {
            AgentEvent::AgentRegistered { .. } => {}
            AgentEvent::AgentUpdated { changes, .. } => {
                if let Some(v) = changes.name {
                    s.name = v;
                }
                if let Some(v) = changes.role {
                    s.role = v;
                }
                if let Some(v) = changes.service_ids {
                    s.service_ids = v;
                }
                if let Some(v) = changes.max_concurrent {
                    s.max_concurrent = v;
                }
                if let Some(v) = changes.active {
                    s.active = v;
                }
            }
            AgentEvent::AgentPasswordChanged { password_hash, .. } => {
                s.password_hash = password_hash
            }
            AgentEvent::AgentImageChanged { image, .. } => s.image = Some(image),
            AgentEvent::AgentLoggedIn { session_id, at } => {
                if s.sessions.is_empty() {
                    s.logged_in_since = Some(at);
                }
                s.sessions.insert(session_id);
            }
            AgentEvent::AgentLoggedOut { session_id, .. } => {
                s.sessions.remove(&session_id);
                if s.sessions.is_empty() {
                    s.logged_in_since = None;
                    s.pause = None;
                }
            }
            AgentEvent::PauseStarted { reason_id, at } => {
                s.pause = Some(ActivePause {
                    reason_id,
                    since: at,
                })
            }
            AgentEvent::PauseReasonChanged { reason_id, .. } => {
                if let Some(p) = s.pause.as_mut() {
                    p.reason_id = reason_id;
                }
            }
            AgentEvent::PauseEnded { .. } => s.pause = None,
        }
    }
}
