//! The Attendance aggregate: one customer-service case with a contact on one channel, from the
//! first message to finalization.
//!
//! # Layout
//! - [`command`]: what may be asked of an attendance ([`AttendanceCommand`]) and who asks
//!   ([`Actor`]).
//! - [`event`]: what happened to one ([`AttendanceEvent`]), as stored; messages are events.
//! - [`error`]: why a command was refused ([`AttendanceError`]).
//! - [`aggregate`]: the state rebuilt from events, [`Attendance::decide`] and the cqrs-es glue.
//! - [`rules`]: the WhatsApp window, who may act, bulk limits, the protocol number, text limits.
//!
//! # Life
//! ```text
//! open inbound/outbound ──► IN_FLOW ──hand off──► WAITING ──assign──► IN_PROGRESS ◄──rescue── PENDING
//!                                                   ▲  transfer to a service │ mark pending / logout ─►┘
//!                                                   └────────────────────────┘
//! every state but FINALIZED ──finalize──► FINALIZED (terminal: a new message opens a new attendance)
//! ```
//!
//! The state is small and fixed in size: messages are events, never a list in the state, so a
//! command costs the same after 10,000 messages as after one. For the same reason the dedup of a
//! gateway's `externalMessageId` lives in the use case (a unique table), not here.

pub mod aggregate;
pub mod command;
pub mod error;
pub mod event;
pub mod rules;

#[cfg(test)]
mod tests;

pub use aggregate::{Attendance, AttendanceState};
pub use command::{
    Actor, Assign, AttendanceCommand, Finalize, HandOffToService, InboundMessage, MarkPending,
    OpenInbound, OpenOutbound, OutboundContent, OutboundMessage, ParkOnLogout,
    ReceiveCustomerMessage, Rescue, SendAgentMessage, Transfer, TransferTarget, WindowState,
};
pub use error::AttendanceError;
pub use event::{AttachmentRef, AttendanceEvent, Destination, MessageContent, TransferredTo};
