//! Why the Attendance aggregate refused a command. Each variant's doc names the API code
//! (`extensions.code`) that `graphql/src/error.rs` maps it to.

use crate::kinds::AttendanceStatus;
use crate::validation::{FieldError, ValidationErrors};

/// A refusal of an attendance command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AttendanceError {
    /// VALIDATION: bad input, every bad field listed.
    #[error("{0}")]
    Validation(ValidationErrors),
    /// NOT_FOUND: no attendance with this id.
    #[error("attendance not found")]
    NotFound,
    /// CONFLICT: an attendance with this id was already opened.
    #[error("attendance already opened")]
    AlreadyOpened,
    /// INVALID_STATE: the command does not apply in the attendance's current status.
    #[error("cannot {action} an attendance that is {status}")]
    InvalidState {
        status: AttendanceStatus,
        action: &'static str,
    },
    /// FORBIDDEN: the actor may not do this to this attendance.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// WINDOW_CLOSED: WhatsApp Business API window closed; only a template may be sent.
    #[error("the customer's 24-hour window is closed: send a template")]
    WindowClosed,
    /// LIMIT_EXCEEDED: a count limit (bulk ids, attachments).
    #[error("too many {what}: {got}, at most {limit}")]
    LimitExceeded {
        what: &'static str,
        limit: usize,
        got: usize,
    },
}

impl From<ValidationErrors> for AttendanceError {
    fn from(e: ValidationErrors) -> Self {
        Self::Validation(e)
    }
}

impl From<FieldError> for AttendanceError {
    fn from(e: FieldError) -> Self {
        Self::Validation(e.into())
    }
}
