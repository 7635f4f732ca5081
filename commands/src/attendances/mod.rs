//! Attendance use cases (items 4–7, 13): open inbound and outbound, messages, pending, rescue,
//! finalize (one or in bulk), transfer, hand-off.
//!
//! # Layout
//! - One file per use case: [`receive_inbound`], [`open_outbound`], [`send_message`],
//!   [`mark_pending`], [`rescue`], [`finalize`], [`bulk`], [`transfer`], [`hand_off`].
//! - [`visibility`]: who sees which attendance (the one place of that rule).
//! - [`open_keys`], [`idempotency`]: claims that keep one open attendance per contact, account
//!   and channel, and make repeated requests change nothing.
//! - [`inbound_lookup`]: what an inbound message needs to know, read in one query.
//! - [`support`]: lookups several use cases share (acting person, protocol, window, templates).

pub mod assign;
pub mod bulk;
pub mod finalize;
pub mod hand_off;
pub mod idempotency;
pub mod inbound_lookup;
pub mod mark_pending;
pub mod open_keys;
pub mod open_outbound;
pub mod park_on_logout;
pub mod receive_inbound;
pub mod rescue;
pub mod send_message;
pub mod support;
pub mod transfer;
pub mod visibility;

use domain::attendance::AttendanceError;

use crate::error::CommandError;

impl From<AttendanceError> for CommandError {
    fn from(e: AttendanceError) -> Self {
        match e {
            AttendanceError::Validation(v) => CommandError::Validation(v),
            AttendanceError::NotFound => CommandError::not_found("attendance"),
            AttendanceError::AlreadyOpened => CommandError::Conflict {
                message: "attendance already opened".into(),
                existing_id: None,
            },
            e @ AttendanceError::InvalidState { .. } => CommandError::InvalidState(e.to_string()),
            AttendanceError::Forbidden(why) => CommandError::Forbidden(why),
            e @ AttendanceError::WindowClosed => CommandError::WindowClosed(e.to_string()),
            e @ AttendanceError::LimitExceeded { .. } => CommandError::LimitExceeded(e.to_string()),
        }
    }
}
