//! The Attendance aggregate's state, its pure [`Attendance::decide`], and the cqrs-es glue.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::command::{
    Assign, AttendanceCommand, Finalize, HandOffToService, InboundMessage, MarkPending,
    OpenInbound, OpenOutbound, OutboundContent, OutboundMessage, ParkOnLogout,
    ReceiveCustomerMessage, Rescue, SendAgentMessage, Transfer, TransferTarget,
};
use super::error::AttendanceError;
use super::event::{AttachmentRef, AttendanceEvent, Destination, MessageContent, TransferredTo};
use super::rules;
use crate::kinds::{AttendanceStatus, ChannelType, DestinationType, Direction};
use crate::validation::{FieldError, ValidationErrors};
use crate::values::text::{optional_text, required_text};

/// The attendance as rebuilt from its events; `None` until opened.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attendance {
    state: Option<AttendanceState>,
    /// Number of events applied.
    version: u64,
}

/// An opened attendance. Fixed in size whatever the number of messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttendanceState {
    pub id: Uuid,
    pub protocol: String,
    pub account_id: Uuid,
    pub contact_id: Uuid,
    pub channel: ChannelType,
    pub direction: Direction,
    pub status: AttendanceStatus,
    /// Where it was opened to; a flow that hands off keeps FLOW here and gains a `service_id`.
    pub destination_type: DestinationType,
    /// The service whose queue it is (or was last) in.
    pub service_id: Option<Uuid>,
    pub flow_id: Option<String>,
    /// The agent it is with: IN_PROGRESS and PENDING always have one; kept after finalizing.
    pub agent_id: Option<Uuid>,
    pub opened_by: Option<Uuid>,
    pub opened_at: DateTime<Utc>,
    /// The latest message either way; orders the pending list.
    pub last_interaction_at: DateTime<Utc>,
    /// The customer's latest message here: the WhatsApp window counts from it.
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub last_message_preview: Option<String>,
    pub finalized_at: Option<DateTime<Utc>>,
    pub finalize_reason: Option<String>,
    pub survey_requested: bool,
    pub message_count: u64,
}

impl Attendance {
    /// The opened attendance, or `None` before it opens.
    pub fn state(&self) -> Option<&AttendanceState> {
        self.state.as_ref()
    }

    /// Number of events in the attendance's stream.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Decides what a command changes: the events to store, or why it is refused. Pure.
    pub fn decide(
        &self,
        command: AttendanceCommand,
    ) -> Result<Vec<AttendanceEvent>, AttendanceError> {
        let opened = || self.state.as_ref().ok_or(AttendanceError::NotFound);
        match command {
            AttendanceCommand::OpenInbound(cmd) => {
                self.ensure_new().and_then(|()| open_inbound(cmd))
            }
            AttendanceCommand::OpenOutbound(cmd) => {
                self.ensure_new().and_then(|()| open_outbound(cmd))
            }
            AttendanceCommand::ReceiveCustomerMessage(cmd) => receive(opened()?, cmd),
            AttendanceCommand::SendAgentMessage(cmd) => send(opened()?, cmd),
            AttendanceCommand::HandOffToService(cmd) => hand_off(opened()?, cmd),
            AttendanceCommand::Assign(cmd) => assign(opened()?, cmd),
            AttendanceCommand::Transfer(cmd) => transfer(opened()?, cmd),
            AttendanceCommand::MarkPending(cmd) => mark_pending(opened()?, cmd),
            AttendanceCommand::Rescue(cmd) => rescue(opened()?, cmd),
            AttendanceCommand::Finalize(cmd) => finalize(opened()?, cmd),
            AttendanceCommand::ParkOnLogout(cmd) => park_on_logout(opened()?, cmd),
        }
    }

    fn ensure_new(&self) -> Result<(), AttendanceError> {
        match self.state {
            Some(_) => Err(AttendanceError::AlreadyOpened),
            None => Ok(()),
        }
    }
}

/// Refuses a command outside the states it applies in.
fn require(
    state: &AttendanceState,
    allowed: &[AttendanceStatus],
    action: &'static str,
) -> Result<(), AttendanceError> {
    if allowed.contains(&state.status) {
        Ok(())
    } else {
        Err(AttendanceError::InvalidState {
            status: state.status,
            action,
        })
    }
}

/// The parts every opening checks: the protocol and a flow's identifier.
fn check_opening(
    protocol: &str,
    destination: &Destination,
    errors: &mut ValidationErrors,
) -> Option<String> {
    let protocol = errors.check(
        "protocol",
        required_text(protocol, rules::PROTOCOL_MAX_CHARS),
    );
    if let Destination::Flow(flow_id) = destination {
        errors.check("flowId", required_text(flow_id, rules::FLOW_ID_MAX_CHARS));
    }
    protocol
}

/// A flow's identifier as stored: trimmed (already checked by [`check_opening`]).
fn normalized(destination: Destination) -> Destination {
    match destination {
        Destination::Flow(id) => Destination::Flow(id.trim().to_string()),
        service => service,
    }
}

fn open_inbound(cmd: OpenInbound) -> Result<Vec<AttendanceEvent>, AttendanceError> {
    let mut errors = ValidationErrors::default();
    let protocol = check_opening(&cmd.protocol, &cmd.destination, &mut errors);
    let message = inbound_event(cmd.first_message, cmd.at);
    let message = match message {
        Err(AttendanceError::Validation(e)) => {
            errors.0.extend(e.0.into_iter().map(|f| f.under("message")));
            None
        }
        other => Some(other?),
    };
    errors.into_result()?;
    let (Some(protocol), Some(message)) = (protocol, message) else {
        unreachable!("no error was recorded")
    };
    let status = match cmd.destination {
        Destination::Flow(_) => AttendanceStatus::InFlow,
        Destination::Service(_) => AttendanceStatus::Waiting,
    };
    Ok(vec![
        AttendanceEvent::AttendanceOpened {
            attendance_id: cmd.attendance_id,
            protocol,
            account_id: cmd.account_id,
            contact_id: cmd.contact_id,
            channel: cmd.channel,
            direction: Direction::Inbound,
            destination: normalized(cmd.destination),
            status,
            agent_id: None,
            opened_by: None,
            at: cmd.at,
        },
        message,
    ])
}

fn open_outbound(cmd: OpenOutbound) -> Result<Vec<AttendanceEvent>, AttendanceError> {
    rules::check_person(&cmd.actor)?;
    let takes_it = matches!(cmd.destination, Destination::Service(_)) && cmd.assign_to_me;
    if takes_it && !cmd.actor_in_service {
        return Err(AttendanceError::Forbidden(
            "you do not belong to this service".into(),
        ));
    }
    let mut errors = ValidationErrors::default();
    let protocol = check_opening(&cmd.protocol, &cmd.destination, &mut errors);
    if cmd.message.is_none() && cmd.destination.kind() == DestinationType::Service {
        errors.push(FieldError::new(
            "message",
            "is required for a SERVICE destination",
        ));
    }
    let message = match cmd.message.map(outbound_content).transpose() {
        Err(AttendanceError::Validation(e)) => {
            errors.0.extend(e.0.into_iter().map(|f| f.under("message")));
            None
        }
        other => other?,
    };
    errors.into_result()?;
    let Some(protocol) = protocol else {
        unreachable!("no error was recorded")
    };
    if let Some((_, original, _, _)) = &message {
        rules::check_window(cmd.channel, cmd.window.last_inbound_at, original, cmd.at)?;
    }
    let (status, agent_id) = match cmd.destination {
        Destination::Flow(_) => (AttendanceStatus::InFlow, None),
        Destination::Service(_) if takes_it => {
            (AttendanceStatus::InProgress, Some(cmd.actor.agent_id))
        }
        Destination::Service(_) => (AttendanceStatus::Waiting, None),
    };
    let mut events = vec![AttendanceEvent::AttendanceOpened {
        attendance_id: cmd.attendance_id,
        protocol,
        account_id: cmd.account_id,
        contact_id: cmd.contact_id,
        channel: cmd.channel,
        direction: Direction::Outbound,
        destination: normalized(cmd.destination),
        status,
        agent_id,
        opened_by: Some(cmd.actor.agent_id),
        at: cmd.at,
    }];
    if let Some((message_id, _, content, attachments)) = message {
        events.push(AttendanceEvent::AgentMessageSent {
            message_id,
            agent_id: cmd.actor.agent_id,
            content,
            attachments,
            at: cmd.at,
        });
    }
    Ok(events)
}

/// Checks a customer's message and turns it into its event. A gateway's time later than the clock
/// (`now`) is taken as now: a clock running ahead must not keep the window open longer than the
/// channel does, nor sort the pending list by the future.
fn inbound_event(
    msg: InboundMessage,
    now: DateTime<Utc>,
) -> Result<AttendanceEvent, AttendanceError> {
    rules::check_attachments(&msg.attachments)?;
    let mut errors = ValidationErrors::default();
    let text = errors
        .check("text", rules::parse_inbound_text(msg.text.as_deref()))
        .flatten();
    let external_id = errors
        .check(
            "externalMessageId",
            optional_text(msg.external_id.as_deref(), rules::EXTERNAL_ID_MAX_CHARS),
        )
        .flatten();
    if text.is_none() && msg.attachments.is_empty() && errors.is_empty() {
        errors.push(FieldError::new(
            "text",
            "a message needs text or an attachment",
        ));
    }
    errors.into_result()?;
    Ok(AttendanceEvent::CustomerMessageReceived {
        message_id: msg.message_id,
        text,
        attachments: msg.attachments,
        external_id,
        at: msg.at.min(now),
    })
}

/// Checks an agent's message and renders a template: its id, the content as asked (for the
/// window rule), the content as stored, and its files. Field paths are those of
/// `OutboundMessageInput`.
type Checked = (Uuid, OutboundContent, MessageContent, Vec<AttachmentRef>);
fn outbound_content(msg: OutboundMessage) -> Result<Checked, AttendanceError> {
    rules::check_attachments(&msg.attachments)?;
    let content = match &msg.content {
        OutboundContent::Text(raw) => MessageContent::Text {
            text: rules::parse_outbound_text(raw).map_err(|e| e.under("text"))?,
        },
        OutboundContent::Template {
            template_id,
            body,
            variables,
        } => {
            let rendered = body.render(variables)?;
            if rendered.chars().count() > rules::MESSAGE_MAX_CHARS {
                return Err(FieldError::new(
                    "templateVariables",
                    format!(
                        "the rendered message must be at most {} characters",
                        rules::MESSAGE_MAX_CHARS
                    ),
                )
                .into());
            }
            let variables = variables.iter().map(|v| v.trim().to_string()).collect();
            MessageContent::Template {
                template_id: *template_id,
                variables,
                rendered,
            }
        }
    };
    Ok((msg.message_id, msg.content, content, msg.attachments))
}

fn receive(
    state: &AttendanceState,
    cmd: ReceiveCustomerMessage,
) -> Result<Vec<AttendanceEvent>, AttendanceError> {
    use AttendanceStatus::*;
    // A finalized attendance stays closed: the use case opens a new one for the message.
    require(
        state,
        &[InFlow, Waiting, InProgress, Pending],
        "add a customer message to",
    )?;
    Ok(vec![inbound_event(cmd.message, cmd.at)?])
}

fn send(
    state: &AttendanceState,
    cmd: SendAgentMessage,
) -> Result<Vec<AttendanceEvent>, AttendanceError> {
    require(state, &[AttendanceStatus::InProgress], "send a message in")?;
    rules::check_holder(&cmd.actor, state)?;
    let (message_id, original, content, attachments) = outbound_content(cmd.message)?;
    let last_inbound = state.last_inbound_at.max(cmd.window.last_inbound_at);
    rules::check_window(state.channel, last_inbound, &original, cmd.at)?;
    Ok(vec![AttendanceEvent::AgentMessageSent {
        message_id,
        agent_id: cmd.actor.agent_id,
        content,
        attachments,
        at: cmd.at,
    }])
}

fn hand_off(
    state: &AttendanceState,
    cmd: HandOffToService,
) -> Result<Vec<AttendanceEvent>, AttendanceError> {
    require(state, &[AttendanceStatus::InFlow], "hand off")?;
    Ok(vec![AttendanceEvent::HandedOffToService {
        service_id: cmd.service_id,
        at: cmd.at,
    }])
}

fn assign(state: &AttendanceState, cmd: Assign) -> Result<Vec<AttendanceEvent>, AttendanceError> {
    require(state, &[AttendanceStatus::Waiting], "assign")?;
    Ok(vec![AttendanceEvent::AttendanceAssigned {
        agent_id: cmd.agent_id,
        at: cmd.at,
    }])
}

fn transfer(
    state: &AttendanceState,
    cmd: Transfer,
) -> Result<Vec<AttendanceEvent>, AttendanceError> {
    use AttendanceStatus::*;
    require(state, &[Waiting, InProgress, Pending], "transfer")?;
    rules::check_holder_or_supervisor(&cmd.actor, state)?;
    let to = match cmd.to {
        TransferTarget::Service {
            same_account: false,
            ..
        } => {
            return Err(FieldError::new(
                "toServiceId",
                "is not a service of the attendance's account",
            )
            .into());
        }
        TransferTarget::Service { service_id, .. }
            if state.status == Waiting && state.service_id == Some(service_id) =>
        {
            return Err(FieldError::new(
                "toServiceId",
                "the attendance is already waiting in this service",
            )
            .into());
        }
        TransferTarget::Service { service_id, .. } => TransferredTo::Service(service_id),
        TransferTarget::Agent {
            same_account: false,
            ..
        } => {
            return Err(
                FieldError::new("toAgentId", "does not serve the attendance's account").into(),
            );
        }
        TransferTarget::Agent { active: false, .. } => {
            return Err(FieldError::new("toAgentId", "is an inactive agent").into());
        }
        TransferTarget::Agent { agent_id, .. } if state.agent_id == Some(agent_id) => {
            return Err(
                FieldError::new("toAgentId", "the attendance is already with this agent").into(),
            );
        }
        TransferTarget::Agent { agent_id, .. } => TransferredTo::Agent(agent_id),
    };
    Ok(vec![AttendanceEvent::AttendanceTransferred {
        by: cmd.actor.agent_id,
        from_agent_id: state.agent_id,
        to,
        at: cmd.at,
    }])
}

fn mark_pending(
    state: &AttendanceState,
    cmd: MarkPending,
) -> Result<Vec<AttendanceEvent>, AttendanceError> {
    require(state, &[AttendanceStatus::InProgress], "mark pending")?;
    rules::check_holder(&cmd.actor, state)?;
    Ok(vec![AttendanceEvent::AttendanceMarkedPending {
        agent_id: cmd.actor.agent_id,
        by_logout: false,
        at: cmd.at,
    }])
}

fn rescue(state: &AttendanceState, cmd: Rescue) -> Result<Vec<AttendanceEvent>, AttendanceError> {
    require(state, &[AttendanceStatus::Pending], "rescue")?;
    rules::check_holder(&cmd.actor, state)?;
    Ok(vec![AttendanceEvent::AttendanceRescued {
        agent_id: cmd.actor.agent_id,
        at: cmd.at,
    }])
}

fn finalize(
    state: &AttendanceState,
    cmd: Finalize,
) -> Result<Vec<AttendanceEvent>, AttendanceError> {
    use AttendanceStatus::*;
    require(state, &[InFlow, Waiting, InProgress, Pending], "finalize")?;
    rules::check_holder_or_supervisor(&cmd.actor, state)?;
    let reason =
        rules::parse_finalize_reason(cmd.reason.as_deref()).map_err(|e| e.under("reason"))?;
    Ok(vec![AttendanceEvent::AttendanceFinalized {
        by: cmd.actor.agent_id,
        agent_id: state.agent_id,
        reason,
        // Item 6: a bulk finalize never sends the survey.
        survey_requested: cmd.survey_enabled && !cmd.bulk,
        bulk: cmd.bulk,
        at: cmd.at,
    }])
}

fn park_on_logout(
    state: &AttendanceState,
    cmd: ParkOnLogout,
) -> Result<Vec<AttendanceEvent>, AttendanceError> {
    require(state, &[AttendanceStatus::InProgress], "park")?;
    if state.agent_id != Some(cmd.agent_id) {
        return Err(AttendanceError::Forbidden(
            "the attendance is not with this agent".into(),
        ));
    }
    Ok(vec![AttendanceEvent::AttendanceMarkedPending {
        agent_id: cmd.agent_id,
        by_logout: true,
        at: cmd.at,
    }])
}

impl AttendanceState {
    /// Records a message at `at`; an older one (a late gateway delivery) neither moves the last
    /// interaction back nor replaces the preview.
    fn record_message(&mut self, at: DateTime<Utc>, preview: Option<String>) {
        self.message_count += 1;
        if at >= self.last_interaction_at {
            self.last_interaction_at = at;
            self.last_message_preview = preview;
        }
    }
}

impl Aggregate for Attendance {
    const TYPE: &'static str = "Attendance";
    type Command = AttendanceCommand;
    type Event = AttendanceEvent;
    type Error = AttendanceError;
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
        if let AttendanceEvent::AttendanceOpened {
            attendance_id,
            protocol,
            account_id,
            contact_id,
            channel,
            direction,
            destination,
            status,
            agent_id,
            opened_by,
            at,
        } = event
        {
            let destination_type = destination.kind();
            let (service_id, flow_id) = match destination {
                Destination::Service(id) => (Some(id), None),
                Destination::Flow(id) => (None, Some(id)),
            };
            self.state = Some(AttendanceState {
                id: attendance_id,
                protocol,
                account_id,
                contact_id,
                channel,
                direction,
                status,
                destination_type,
                service_id,
                flow_id,
                agent_id,
                opened_by,
                opened_at: at,
                last_interaction_at: at,
                last_inbound_at: None,
                last_message_preview: None,
                finalized_at: None,
                finalize_reason: None,
                survey_requested: false,
                message_count: 0,
            });
            return;
        }
        // Every other event presupposes an opened attendance; cqrs-es never applies one without.
        let Some(s) = self.state.as_mut() else { return };
        match event {
            AttendanceEvent::AttendanceOpened { .. } => {}
            AttendanceEvent::CustomerMessageReceived {
                text,
                attachments,
                at,
                ..
            } => {
                s.last_inbound_at = s.last_inbound_at.max(Some(at));
                s.record_message(at, rules::preview(text.as_deref(), &attachments));
            }
            AttendanceEvent::AgentMessageSent {
                content,
                attachments,
                at,
                ..
            } => {
                s.record_message(at, rules::preview(Some(content.text()), &attachments));
            }
            AttendanceEvent::HandedOffToService { service_id, .. } => {
                s.status = AttendanceStatus::Waiting;
                s.service_id = Some(service_id);
            }
            AttendanceEvent::AttendanceAssigned { agent_id, .. }
            | AttendanceEvent::AttendanceRescued { agent_id, .. } => {
                s.status = AttendanceStatus::InProgress;
                s.agent_id = Some(agent_id);
            }
            AttendanceEvent::AttendanceTransferred {
                to: TransferredTo::Service(service_id),
                ..
            } => {
                s.status = AttendanceStatus::Waiting;
                s.service_id = Some(service_id);
                s.agent_id = None;
            }
            AttendanceEvent::AttendanceTransferred {
                to: TransferredTo::Agent(agent_id),
                ..
            } => {
                s.status = AttendanceStatus::InProgress;
                s.agent_id = Some(agent_id);
            }
            AttendanceEvent::AttendanceMarkedPending { .. } => s.status = AttendanceStatus::Pending,
            AttendanceEvent::AttendanceFinalized {
                reason,
                survey_requested,
                at,
                ..
            } => {
                s.status = AttendanceStatus::Finalized;
                s.finalized_at = Some(at);
                s.finalize_reason = reason;
                s.survey_requested = survey_requested;
            }
        }
    }
}
