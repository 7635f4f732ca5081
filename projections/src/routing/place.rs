//! Pure: where an attendance stands for routing (status, queue, agent), how each Attendance event
//! moves it, and what a move changes in the counters. The projection only turns this into SQL.

use chrono::{DateTime, Utc};
use domain::attendance::{AttendanceEvent, Destination, TransferredTo};
use domain::kinds::AttendanceStatus;
use uuid::Uuid;

/// An attendance's routing state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub status: AttendanceStatus,
    /// The queue it is (or was last) in.
    pub service_id: Option<Uuid>,
    /// The agent it is with (IN_PROGRESS, PENDING; kept after finalizing).
    pub agent_id: Option<Uuid>,
}

/// What one event did to an attendance's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub to: Place,
    /// It (re-)entered a queue at this time: the router serves the oldest first.
    pub queued_at: Option<DateTime<Utc>>,
    /// An agent took it (opened to them, assigned, transferred to them, rescued): it counts in
    /// their "today" and resets their idle time.
    pub taken_by: Option<Uuid>,
    pub at: Option<DateTime<Utc>>,
}

/// The place an opening creates, or None for an event that is not an opening.
pub fn opened(event: &AttendanceEvent) -> Option<Move> {
    let AttendanceEvent::AttendanceOpened {
        destination,
        status,
        agent_id,
        at,
        ..
    } = event
    else {
        return None;
    };
    let service_id = match destination {
        Destination::Service(id) => Some(*id),
        Destination::Flow(_) => None,
    };
    let to = Place {
        status: *status,
        service_id,
        agent_id: *agent_id,
    };
    Some(Move {
        to,
        queued_at: (*status == AttendanceStatus::Waiting).then_some(*at),
        taken_by: agent_id.filter(|_| *status == AttendanceStatus::InProgress),
        at: Some(*at),
    })
}

/// How an event of an opened attendance moves it; None when it does not (messages).
pub fn next(from: Place, event: &AttendanceEvent) -> Option<Move> {
    use AttendanceStatus::*;
    let (to, queued_at, taken_by, at) = match *event {
        AttendanceEvent::AttendanceOpened { .. }
        | AttendanceEvent::CustomerMessageReceived { .. }
        | AttendanceEvent::AgentMessageSent { .. } => return None,
        AttendanceEvent::HandedOffToService { service_id, at } => (
            Place {
                status: Waiting,
                service_id: Some(service_id),
                agent_id: None,
            },
            Some(at),
            None,
            at,
        ),
        AttendanceEvent::AttendanceAssigned { agent_id, at }
        | AttendanceEvent::AttendanceRescued { agent_id, at } => (
            Place {
                status: InProgress,
                agent_id: Some(agent_id),
                ..from
            },
            None,
            Some(agent_id),
            at,
        ),
        AttendanceEvent::AttendanceTransferred {
            to: TransferredTo::Service(service_id),
            at,
            ..
        } => (
            Place {
                status: Waiting,
                service_id: Some(service_id),
                agent_id: None,
            },
            Some(at),
            None,
            at,
        ),
        AttendanceEvent::AttendanceTransferred {
            to: TransferredTo::Agent(agent_id),
            at,
            ..
        } => (
            Place {
                status: InProgress,
                agent_id: Some(agent_id),
                ..from
            },
            None,
            Some(agent_id),
            at,
        ),
        AttendanceEvent::AttendanceMarkedPending { agent_id, at, .. } => (
            Place {
                status: Pending,
                agent_id: Some(agent_id),
                ..from
            },
            None,
            None,
            at,
        ),
        AttendanceEvent::AttendanceFinalized { at, .. } => (
            Place {
                status: Finalized,
                ..from
            },
            None,
            None,
            at,
        ),
    };
    Some(Move {
        to,
        queued_at,
        taken_by,
        at: Some(at),
    })
}

/// A change of one counter: +1 or -1 on a service's waiting or an agent's in-progress count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delta {
    Waiting { service_id: Uuid, by: i32 },
    InProgress { agent_id: Uuid, by: i32 },
}

/// The counter changes of moving from `from` (None: not opened yet) to `to`: leaving WAITING or
/// IN_PROGRESS takes one off where it was, entering adds one where it goes.
pub fn deltas(from: Option<Place>, to: Place) -> Vec<Delta> {
    let mut out = Vec::with_capacity(4);
    if from == Some(to) {
        return out;
    }
    if let Some(from) = from {
        out.extend(counted(from, -1));
    }
    out.extend(counted(to, 1));
    out
}

/// The counter a place occupies, if any.
fn counted(p: Place, by: i32) -> Option<Delta> {
    match (p.status, p.service_id, p.agent_id) {
        (AttendanceStatus::Waiting, Some(service_id), _) => Some(Delta::Waiting { service_id, by }),
        (AttendanceStatus::InProgress, _, Some(agent_id)) => {
            Some(Delta::InProgress { agent_id, by })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use domain::kinds::{ChannelType, Direction};

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 15, 0, 0).unwrap()
    }

    fn opening(
        destination: Destination,
        status: AttendanceStatus,
        agent_id: Option<Uuid>,
    ) -> AttendanceEvent {
        AttendanceEvent::AttendanceOpened {
            attendance_id: Uuid::new_v4(),
            protocol: "20261127-000001".into(),
            account_id: Uuid::new_v4(),
            contact_id: Uuid::new_v4(),
            channel: ChannelType::Webchat,
            direction: Direction::Inbound,
            destination,
            status,
            agent_id,
            opened_by: None,
            at: at(),
        }
    }

    #[test]
    fn an_inbound_opening_to_a_service_waits_in_its_queue() {
        let s = Uuid::new_v4();
        let m = opened(&opening(
            Destination::Service(s),
            AttendanceStatus::Waiting,
            None,
        ))
        .unwrap();
        assert_eq!(m.queued_at, Some(at()));
        assert_eq!(m.taken_by, None);
        assert_eq!(
            deltas(None, m.to),
            vec![Delta::Waiting {
                service_id: s,
                by: 1
            }]
        );
    }

    #[test]
    fn an_outbound_taken_by_its_opener_counts_for_them_at_once() {
        let (s, a) = (Uuid::new_v4(), Uuid::new_v4());
        let m = opened(&opening(
            Destination::Service(s),
            AttendanceStatus::InProgress,
            Some(a),
        ))
        .unwrap();
        assert_eq!(m.taken_by, Some(a));
        assert_eq!(
            deltas(None, m.to),
            vec![Delta::InProgress { agent_id: a, by: 1 }]
        );
    }

    #[test]
    fn a_flow_counts_nowhere_until_it_is_handed_off() {
        let m = opened(&opening(
            Destination::Flow("bot".into()),
            AttendanceStatus::InFlow,
            None,
        ))
        .unwrap();
        assert!(deltas(None, m.to).is_empty());
        let s = Uuid::new_v4();
        let h = next(
            m.to,
            &AttendanceEvent::HandedOffToService {
                service_id: s,
                at: at(),
            },
        )
        .unwrap();
        assert_eq!(h.queued_at, Some(at()));
        assert_eq!(
            deltas(Some(m.to), h.to),
            vec![Delta::Waiting {
                service_id: s,
                by: 1
            }]
        );
    }

    #[test]
    fn assignment_moves_one_from_the_queue_to_the_agent() {
        let (s, a) = (Uuid::new_v4(), Uuid::new_v4());
        let from = Place {
            status: AttendanceStatus::Waiting,
            service_id: Some(s),
            agent_id: None,
        };
        let m = next(
            from,
            &AttendanceEvent::AttendanceAssigned {
                agent_id: a,
                at: at(),
            },
        )
        .unwrap();
        assert_eq!(m.taken_by, Some(a));
        assert_eq!(
            deltas(Some(from), m.to),
            vec![
                Delta::Waiting {
                    service_id: s,
                    by: -1
                },
                Delta::InProgress { agent_id: a, by: 1 }
            ]
        );
    }

    #[test]
    fn pending_and_finalized_leave_the_agents_in_progress_count() {
        let a = Uuid::new_v4();
        let from = Place {
            status: AttendanceStatus::InProgress,
            service_id: None,
            agent_id: Some(a),
        };
        let pending = next(
            from,
            &AttendanceEvent::AttendanceMarkedPending {
                agent_id: a,
                by_logout: true,
                at: at(),
            },
        );
        let pending = pending.unwrap();
        assert_eq!(pending.to.status, AttendanceStatus::Pending);
        assert_eq!(
            deltas(Some(from), pending.to),
            vec![Delta::InProgress {
                agent_id: a,
                by: -1
            }]
        );
        let fin = AttendanceEvent::AttendanceFinalized {
            by: a,
            agent_id: Some(a),
            reason: None,
            survey_requested: false,
            bulk: false,
            at: at(),
        };
        let done = next(pending.to, &fin).unwrap();
        assert!(deltas(Some(pending.to), done.to).is_empty());
    }

    #[test]
    fn a_transfer_between_agents_moves_the_count_and_counts_for_the_receiver() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let from = Place {
            status: AttendanceStatus::InProgress,
            service_id: None,
            agent_id: Some(a),
        };
        let ev = AttendanceEvent::AttendanceTransferred {
            by: a,
            from_agent_id: Some(a),
            to: TransferredTo::Agent(b),
            at: at(),
        };
        let m = next(from, &ev).unwrap();
        assert_eq!(m.taken_by, Some(b));
        assert_eq!(
            deltas(Some(from), m.to),
            vec![
                Delta::InProgress {
                    agent_id: a,
                    by: -1
                },
                Delta::InProgress { agent_id: b, by: 1 }
            ]
        );
    }

    #[test]
    fn messages_move_nothing() {
        let from = Place {
            status: AttendanceStatus::Waiting,
            service_id: None,
            agent_id: None,
        };
        let ev = AttendanceEvent::CustomerMessageReceived {
            message_id: Uuid::new_v4(),
            text: Some("oi".into()),
            attachments: vec![],
            external_id: None,
            at: at(),
        };
        assert_eq!(next(from, &ev), None);
    }
}
