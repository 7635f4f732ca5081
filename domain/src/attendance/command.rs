//! Commands of the Attendance aggregate. Each carries `at` (the injected clock), the acting
//! principal where a person acts, and whatever lookups its decision needs (the survey flag of the
//! service, whether an agent belongs to a service, the contact's last inbound message), fetched
//! beforehand by the use case.
//!
//! Commands sent by machines (gateways, flow engines, the router, the logout use case) carry no
//! [`Actor`]: the use case has already checked the token's role.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::event::{AttachmentRef, Destination};
use crate::kinds::{ChannelType, Role};
use crate::values::TemplateBody;

/// Everything that may be asked of an attendance.
#[derive(Debug, Clone, PartialEq)]
pub enum AttendanceCommand {
    OpenInbound(OpenInbound),
    OpenOutbound(OpenOutbound),
    ReceiveCustomerMessage(ReceiveCustomerMessage),
    SendAgentMessage(SendAgentMessage),
    HandOffToService(HandOffToService),
    Assign(Assign),
    Transfer(Transfer),
    MarkPending(MarkPending),
    Rescue(Rescue),
    Finalize(Finalize),
    ParkOnLogout(ParkOnLogout),
}

/// The person acting. Supervisors and admins may act on any attendance the use case lets them
/// see (their accounts); agents only on their own. See [`super::rules`] for who may do what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub agent_id: Uuid,
    pub role: Role,
}

/// The contact's WhatsApp customer-service window, as looked up by the use case: the contact's
/// last inbound message on this account and channel, in any attendance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowState {
    pub last_inbound_at: Option<DateTime<Utc>>,
}

/// A customer's message as a gateway delivered it.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    pub message_id: Uuid,
    pub text: Option<String>,
    pub attachments: Vec<AttachmentRef>,
    /// The gateway's id; the use case has already refused a repeated one.
    pub external_id: Option<String>,
    /// When the customer sent it (the gateway's time, else the clock): the window counts from it.
    /// A time later than the command's `at` is taken as `at`.
    pub at: DateTime<Utc>,
}

/// What an agent writes: free text, or an approved template with its values.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboundContent {
    Text(String),
    /// The use case loads the template of this account and channel; the domain renders it.
    Template {
        template_id: Uuid,
        body: TemplateBody,
        variables: Vec<String>,
    },
}

/// A message an agent sends.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundMessage {
    pub message_id: Uuid,
    pub content: OutboundContent,
    pub attachments: Vec<AttachmentRef>,
}

/// A customer wrote and no open attendance takes it: open one (gateways).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenInbound {
    pub attendance_id: Uuid,
    /// From [`super::rules::protocol_number`].
    pub protocol: String,
    pub account_id: Uuid,
    pub contact_id: Uuid,
    pub channel: ChannelType,
    pub destination: Destination,
    pub first_message: InboundMessage,
    pub at: DateTime<Utc>,
}

/// An agent opens an attendance toward a contact (item 5).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenOutbound {
    pub attendance_id: Uuid,
    /// From [`super::rules::protocol_number`].
    pub protocol: String,
    pub account_id: Uuid,
    pub contact_id: Uuid,
    pub channel: ChannelType,
    pub destination: Destination,
    pub actor: Actor,
    /// SERVICE only: take it (IN_PROGRESS) rather than queue it (WAITING). Ignored for FLOW.
    pub assign_to_me: bool,
    /// Lookup: whether the actor belongs to the destination service.
    pub actor_in_service: bool,
    /// Required for SERVICE, optional for FLOW.
    pub message: Option<OutboundMessage>,
    pub window: WindowState,
    pub at: DateTime<Utc>,
}

/// The customer wrote again to this attendance (gateways).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiveCustomerMessage {
    pub message: InboundMessage,
    pub at: DateTime<Utc>,
}

/// The assigned agent writes to the customer.
#[derive(Debug, Clone, PartialEq)]
pub struct SendAgentMessage {
    pub actor: Actor,
    pub message: OutboundMessage,
    /// The contact's window across attendances; the later of it and this attendance's own last
    /// inbound message counts.
    pub window: WindowState,
    pub at: DateTime<Utc>,
}

/// A flow engine hands an IN_FLOW attendance to a service queue.
#[derive(Debug, Clone, PartialEq)]
pub struct HandOffToService {
    pub service_id: Uuid,
    pub at: DateTime<Utc>,
}

/// The router gives a WAITING attendance to an available agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Assign {
    pub agent_id: Uuid,
    pub at: DateTime<Utc>,
}

/// Where a transfer goes: back to a service queue, or straight to an agent.
#[derive(Debug, Clone, PartialEq)]
pub enum TransferTarget {
    /// Lookup `same_account`: the service belongs to the attendance's account.
    Service {
        service_id: Uuid,
        same_account: bool,
    },
    /// Lookups: the agent serves the attendance's account (belongs to one of its services), and
    /// is active. Transfers skip the concurrent limit: a person chose this agent.
    Agent {
        agent_id: Uuid,
        same_account: bool,
        active: bool,
    },
}

/// Moves an attendance to a service queue or to an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub actor: Actor,
    pub to: TransferTarget,
    pub at: DateTime<Utc>,
}

/// The agent parks an attendance in progress (PENDING with them).
#[derive(Debug, Clone, PartialEq)]
pub struct MarkPending {
    pub actor: Actor,
    pub at: DateTime<Utc>,
}

/// The agent resumes a pending attendance.
#[derive(Debug, Clone, PartialEq)]
pub struct Rescue {
    pub actor: Actor,
    pub at: DateTime<Utc>,
}

/// Closes an attendance.
#[derive(Debug, Clone, PartialEq)]
pub struct Finalize {
    pub actor: Actor,
    pub reason: Option<String>,
    /// Lookup: the attendance's service sends the satisfaction survey (false without a service).
    pub survey_enabled: bool,
    /// Part of a bulk finalize (item 6), which never requests the survey.
    pub bulk: bool,
    pub at: DateTime<Utc>,
}

/// The agent went offline: an attendance in progress with them becomes PENDING with them.
#[derive(Debug, Clone, PartialEq)]
pub struct ParkOnLogout {
    pub agent_id: Uuid,
    pub at: DateTime<Utc>,
}
