//! Attendance use cases (items 4–7, 13): open inbound and outbound, messages, pending, rescue,
//! finalize (one or in bulk), transfer, hand-off.

pub mod assign;
pub mod park_on_logout;

use domain::attendance::AttendanceError;

use crate::error::CommandError;

impl From<AttendanceError> for CommandError {
    fn from(e: AttendanceError) -> Self {
        match e {
            AttendanceError::Validation(v) => CommandError::Validation(v),
            AttendanceError::NotFound => CommandError::not_found("attendance"),
            AttendanceError::AlreadyOpened => {
                CommandError::Conflict { message: "attendance already opened".into(), existing_id: None }
            }
            e @ AttendanceError::InvalidState { .. } => CommandError::InvalidState(e.to_string()),
            AttendanceError::Forbidden(why) => CommandError::Forbidden(why),
            e @ AttendanceError::WindowClosed => CommandError::WindowClosed(e.to_string()),
            e @ AttendanceError::LimitExceeded { .. } => CommandError::LimitExceeded(e.to_string()),
        }
    }
}
