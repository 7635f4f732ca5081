//! What subscriptions deliver about attendances: a change kind, the attendance as it now stands,
//! and the cursor to resume from after a reconnect.

use async_graphql::{Enum, SimpleObject};

use crate::types::attendance::Attendance;

/// Entered or moved (UPSERT), left (REMOVE), or "re-query, changes were lost" (RESYNC).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ChangeKind {
    Upsert,
    Remove,
    Resync,
}

/// My pending list changed. `attendance` is null only for RESYNC.
#[derive(SimpleObject, Clone)]
pub struct PendingChange {
    pub kind: ChangeKind,
    pub attendance: Option<Attendance>,
    pub pending_count: i32,
    pub cursor: String,
}

/// An attendance I may see changed. `attendance` is null only for RESYNC.
#[derive(SimpleObject, Clone)]
pub struct AttendanceChange {
    pub kind: ChangeKind,
    pub attendance: Option<Attendance>,
    pub cursor: String,
}
