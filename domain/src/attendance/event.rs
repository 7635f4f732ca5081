//! Events of the Attendance aggregate, as stored. Their names ([`AttendanceEvent::event_type`])
//! never change; a changed payload gets a new version and an upcaster. Messages are events: the
//! read model of messages is built from [`AttendanceEvent::CustomerMessageReceived`] and
//! [`AttendanceEvent::AgentMessageSent`].

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::kinds::{AttendanceStatus, ChannelType, DestinationType, Direction};

/// Where an attendance goes when it opens. Stored as `{"type": "SERVICE", "id": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Destination {
    /// A human service queue.
    Service(Uuid),
    /// A bot flow, named by the flow engine's own identifier.
    Flow(String),
}

impl Destination {
    pub fn kind(&self) -> DestinationType {
        match self {
            Self::Service(_) => DestinationType::Service,
            Self::Flow(_) => DestinationType::Flow,
        }
    }
}

/// A file stored by the use case before the message is sent or received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    pub attachment_id: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
}

/// What an agent sent: free text, or a template with the values used and the text they produced
/// (kept, so the history shows what the customer read even if the template changes later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageContent {
    Text {
        text: String,
    },
    Template {
        template_id: Uuid,
        variables: Vec<String>,
        rendered: String,
    },
}

impl MessageContent {
    /// The text the customer reads.
    pub fn text(&self) -> &str {
        match self {
            Self::Text { text } => text,
            Self::Template { rendered, .. } => rendered,
        }
    }
}

/// Where a transfer went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransferredTo {
    /// Back to WAITING in this service's queue, nobody assigned.
    Service(Uuid),
    /// IN_PROGRESS with this agent.
    Agent(Uuid),
}

/// Everything that happens to an attendance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AttendanceEvent {
    /// `status` is IN_FLOW, WAITING, or IN_PROGRESS (outbound taken by its opener, `agent_id`).
    AttendanceOpened {
        attendance_id: Uuid,
        protocol: String,
        account_id: Uuid,
        contact_id: Uuid,
        channel: ChannelType,
        direction: Direction,
        destination: Destination,
        status: AttendanceStatus,
        agent_id: Option<Uuid>,
        opened_by: Option<Uuid>,
        at: DateTime<Utc>,
    },
    /// `at` is when the customer sent it.
    CustomerMessageReceived {
        message_id: Uuid,
        text: Option<String>,
        attachments: Vec<AttachmentRef>,
        external_id: Option<String>,
        at: DateTime<Utc>,
    },
    AgentMessageSent {
        message_id: Uuid,
        agent_id: Uuid,
        content: MessageContent,
        attachments: Vec<AttachmentRef>,
        at: DateTime<Utc>,
    },
    /// IN_FLOW → WAITING in this service.
    HandedOffToService { service_id: Uuid, at: DateTime<Utc> },
    /// WAITING → IN_PROGRESS with this agent (the router's choice).
    AttendanceAssigned { agent_id: Uuid, at: DateTime<Utc> },
    /// `by` moved it from `from_agent_id` (none while it waited) to `to`.
    AttendanceTransferred {
        by: Uuid,
        from_agent_id: Option<Uuid>,
        to: TransferredTo,
        at: DateTime<Utc>,
    },
    /// IN_PROGRESS → PENDING with `agent_id`; `by_logout` when the agent went offline.
    AttendanceMarkedPending {
        agent_id: Uuid,
        by_logout: bool,
        at: DateTime<Utc>,
    },
    /// PENDING → IN_PROGRESS with `agent_id`.
    AttendanceRescued { agent_id: Uuid, at: DateTime<Utc> },
    /// Terminal. `agent_id` held it at that moment (none if it was waiting or in a flow); `by`
    /// finalized it. The survey is requested iff the service has one and this was not bulk.
    AttendanceFinalized {
        by: Uuid,
        agent_id: Option<Uuid>,
        reason: Option<String>,
        survey_requested: bool,
        bulk: bool,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for AttendanceEvent {
    fn event_type(&self) -> String {
        match self {
            Self::AttendanceOpened { .. } => "AttendanceOpened",
            Self::CustomerMessageReceived { .. } => "CustomerMessageReceived",
            Self::AgentMessageSent { .. } => "AgentMessageSent",
            Self::HandedOffToService { .. } => "HandedOffToService",
            Self::AttendanceAssigned { .. } => "AttendanceAssigned",
            Self::AttendanceTransferred { .. } => "AttendanceTransferred",
            Self::AttendanceMarkedPending { .. } => "AttendanceMarkedPending",
            Self::AttendanceRescued { .. } => "AttendanceRescued",
            Self::AttendanceFinalized { .. } => "AttendanceFinalized",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
