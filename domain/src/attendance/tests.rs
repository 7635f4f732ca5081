//! Given/when/then tests of the Attendance aggregate: every transition and every refusal, the
//! WhatsApp window at its edge, the survey rule, logout parking, and the fixed size of the state.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};
use uuid::Uuid;

use super::*;
use crate::kinds::{AttendanceStatus, ChannelType, Direction, Role};
use crate::validation::FieldError;
use crate::values::TemplateBody;

type Fixture = TestFramework<Attendance>;
use AttendanceStatus::{Finalized, InFlow, InProgress, Pending, Waiting};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap()
}
fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}
const ATTENDANCE: u128 = 100;
const ACCOUNT: u128 = 200;
const CONTACT: u128 = 300;
const SERVICE: u128 = 400;
const OTHER_SERVICE: u128 = 401;
const ME: u128 = 1;
const OTHER_AGENT: u128 = 2;
const SUPERVISOR: u128 = 3;
const TEMPLATE: u128 = 500;

fn agent(n: u128) -> Actor {
    Actor {
        agent_id: id(n),
        role: Role::Agent,
    }
}
fn supervisor() -> Actor {
    Actor {
        agent_id: id(SUPERVISOR),
        role: Role::Supervisor,
    }
}

fn opened_on(
    channel: ChannelType,
    status: AttendanceStatus,
    agent_id: Option<u128>,
) -> AttendanceEvent {
    AttendanceEvent::AttendanceOpened {
        attendance_id: id(ATTENDANCE),
        protocol: "20261127-000001".into(),
        account_id: id(ACCOUNT),
        contact_id: id(CONTACT),
        channel,
        direction: Direction::Inbound,
        destination: Destination::Service(id(SERVICE)),
        status,
        agent_id: agent_id.map(id),
        opened_by: None,
        at: t0(),
    }
}
fn opened(status: AttendanceStatus, agent_id: Option<u128>) -> AttendanceEvent {
    opened_on(ChannelType::WhatsappBusinessApi, status, agent_id)
}
fn customer_wrote(n: u128, at: DateTime<Utc>) -> AttendanceEvent {
    AttendanceEvent::CustomerMessageReceived {
        message_id: id(n),
        text: Some("oi".into()),
        attachments: vec![],
        external_id: None,
        at,
    }
}
/// Waiting in the service, the customer wrote at t0; then with [`ME`] in progress.
fn in_progress_with_me() -> Vec<AttendanceEvent> {
    vec![
        opened(Waiting, None),
        customer_wrote(1000, t0()),
        AttendanceEvent::AttendanceAssigned {
            agent_id: id(ME),
            at: t0(),
        },
    ]
}
fn pending_with_me() -> Vec<AttendanceEvent> {
    let mut events = in_progress_with_me();
    events.push(AttendanceEvent::AttendanceMarkedPending {
        agent_id: id(ME),
        by_logout: false,
        at: t0(),
    });
    events
}
fn finalized() -> Vec<AttendanceEvent> {
    let mut events = in_progress_with_me();
    events.push(AttendanceEvent::AttendanceFinalized {
        by: id(ME),
        agent_id: Some(id(ME)),
        reason: None,
        survey_requested: false,
        bulk: false,
        at: t0(),
    });
    events
}
fn after(events: Vec<AttendanceEvent>) -> AttendanceState {
    let mut attendance = Attendance::default();
    for e in events {
        attendance.apply(e);
    }
    attendance.state().cloned().expect("opened")
}
fn run(
    given: Vec<AttendanceEvent>,
    command: AttendanceCommand,
) -> Result<Vec<AttendanceEvent>, AttendanceError> {
    let mut attendance = Attendance::default();
    for e in given {
        attendance.apply(e);
    }
    attendance.decide(command)
}

fn text(n: u128, body: &str) -> OutboundMessage {
    OutboundMessage {
        message_id: id(n),
        content: OutboundContent::Text(body.into()),
        attachments: vec![],
    }
}
fn template(n: u128, variables: &[&str]) -> OutboundMessage {
    OutboundMessage {
        message_id: id(n),
        content: OutboundContent::Template {
            template_id: id(TEMPLATE),
            body: TemplateBody::parse("Olá {{1}}, seu pedido {{2}} chegou.").unwrap(),
            variables: variables.iter().map(ToString::to_string).collect(),
        },
        attachments: vec![],
    }
}
fn sent_text(n: u128, by: u128, body: &str, at: DateTime<Utc>) -> AttendanceEvent {
    AttendanceEvent::AgentMessageSent {
        message_id: id(n),
        agent_id: id(by),
        content: MessageContent::Text { text: body.into() },
        attachments: vec![],
        at,
    }
}
fn send(by: Actor, message: OutboundMessage, at: DateTime<Utc>) -> AttendanceCommand {
    AttendanceCommand::SendAgentMessage(SendAgentMessage {
        actor: by,
        message,
        window: WindowState::default(),
        at,
    })
}
fn file(n: u128) -> AttachmentRef {
    AttachmentRef {
        attachment_id: id(n),
        file_name: "foto.jpg".into(),
        content_type: "image/jpeg".into(),
        size: 10,
    }
}

// ---------------------------------------------------------------- opening inbound

fn open_inbound(
    destination: Destination,
    text: Option<&str>,
    at: DateTime<Utc>,
) -> AttendanceCommand {
    AttendanceCommand::OpenInbound(OpenInbound {
        attendance_id: id(ATTENDANCE),
        protocol: "20261127-000001".into(),
        account_id: id(ACCOUNT),
        contact_id: id(CONTACT),
        channel: ChannelType::WhatsappBusinessApi,
        destination,
        first_message: InboundMessage {
            message_id: id(1000),
            text: text.map(Into::into),
            attachments: vec![],
            external_id: Some("wamid.1".into()),
            at,
        },
        at: t0(),
    })
}

#[test]
fn an_inbound_message_to_a_service_opens_a_waiting_attendance_with_that_message() {
    Fixture::with(())
        .given_no_previous_events()
        .when(open_inbound(
            Destination::Service(id(SERVICE)),
            Some("oi"),
            t0(),
        ))
        .then_expect_events(vec![
            opened(Waiting, None),
            AttendanceEvent::CustomerMessageReceived {
                message_id: id(1000),
                text: Some("oi".into()),
                attachments: vec![],
                external_id: Some("wamid.1".into()),
                at: t0(),
            },
        ]);
}

#[test]
fn an_inbound_message_to_a_flow_opens_an_attendance_in_flow() {
    let events = run(
        vec![],
        open_inbound(Destination::Flow(" bot-1 ".into()), Some("oi"), t0()),
    )
    .unwrap();
    let state = after(events);
    assert_eq!(state.status, InFlow);
    assert_eq!(state.flow_id.as_deref(), Some("bot-1"));
    assert_eq!(state.service_id, None);
    assert_eq!(state.last_inbound_at, Some(t0()));
    assert_eq!(state.last_message_preview.as_deref(), Some("oi"));
}

#[test]
fn an_inbound_message_without_text_or_attachment_is_refused() {
    Fixture::with(())
        .given_no_previous_events()
        .when(open_inbound(
            Destination::Service(id(SERVICE)),
            Some("  "),
            t0(),
        ))
        .then_expect_error(AttendanceError::Validation(
            FieldError::new("message.text", "a message needs text or an attachment").into(),
        ));
}

#[test]
fn a_customer_message_dated_in_the_future_counts_from_now() {
    let events = run(
        vec![],
        open_inbound(
            Destination::Service(id(SERVICE)),
            Some("oi"),
            t0() + Duration::hours(3),
        ),
    )
    .unwrap();
    assert_eq!(after(events).last_inbound_at, Some(t0()));
}

#[test]
fn opening_an_attendance_twice_is_a_conflict() {
    Fixture::with(())
        .given(vec![opened(Waiting, None)])
        .when(open_inbound(
            Destination::Service(id(SERVICE)),
            Some("oi"),
            t0(),
        ))
        .then_expect_error(AttendanceError::AlreadyOpened);
}

#[test]
fn commands_to_an_attendance_never_opened_are_not_found() {
    Fixture::with(())
        .given_no_previous_events()
        .when(AttendanceCommand::Assign(Assign {
            agent_id: id(ME),
            at: t0(),
        }))
        .then_expect_error(AttendanceError::NotFound);
}

// ---------------------------------------------------------------- opening outbound

fn outbound(destination: Destination, message: Option<OutboundMessage>) -> OpenOutbound {
    OpenOutbound {
        attendance_id: id(ATTENDANCE),
        protocol: "20261127-000002".into(),
        account_id: id(ACCOUNT),
        contact_id: id(CONTACT),
        channel: ChannelType::WhatsappBusinessApi,
        destination,
        actor: agent(ME),
        assign_to_me: true,
        actor_in_service: true,
        message,
        window: WindowState {
            last_inbound_at: Some(t0() - Duration::hours(1)),
        },
        at: t0(),
    }
}
fn outbound_opened(
    status: AttendanceStatus,
    agent_id: Option<u128>,
    destination: Destination,
) -> AttendanceEvent {
    AttendanceEvent::AttendanceOpened {
        attendance_id: id(ATTENDANCE),
        protocol: "20261127-000002".into(),
        account_id: id(ACCOUNT),
        contact_id: id(CONTACT),
        channel: ChannelType::WhatsappBusinessApi,
        direction: Direction::Outbound,
        destination,
        status,
        agent_id: agent_id.map(id),
        opened_by: Some(id(ME)),
        at: t0(),
    }
}

#[test]
fn an_outbound_attendance_i_take_opens_in_progress_with_me_and_sends_my_message() {
    let cmd = outbound(
        Destination::Service(id(SERVICE)),
        Some(text(7, " Bom dia! ")),
    );
    Fixture::with(())
        .given_no_previous_events()
        .when(AttendanceCommand::OpenOutbound(cmd))
        .then_expect_events(vec![
            outbound_opened(InProgress, Some(ME), Destination::Service(id(SERVICE))),
            sent_text(7, ME, "Bom dia!", t0()),
        ]);
}

#[test]
fn an_outbound_attendance_i_do_not_take_waits_in_the_service_queue() {
    let cmd = OpenOutbound {
        assign_to_me: false,
        actor_in_service: false,
        ..outbound(Destination::Service(id(SERVICE)), Some(text(7, "Oi")))
    };
    Fixture::with(())
        .given_no_previous_events()
        .when(AttendanceCommand::OpenOutbound(cmd))
        .then_expect_events(vec![
            outbound_opened(Waiting, None, Destination::Service(id(SERVICE))),
            sent_text(7, ME, "Oi", t0()),
        ]);
}

#[test]
fn an_outbound_attendance_to_a_service_requires_a_message() {
    let cmd = outbound(Destination::Service(id(SERVICE)), None);
    Fixture::with(())
        .given_no_previous_events()
        .when(AttendanceCommand::OpenOutbound(cmd))
        .then_expect_error(AttendanceError::Validation(
            FieldError::new("message", "is required for a SERVICE destination").into(),
        ));
}

#[test]
fn an_outbound_attendance_to_a_flow_may_open_without_a_message_and_ignores_assign_to_me() {
    let cmd = OpenOutbound {
        actor_in_service: false,
        ..outbound(Destination::Flow("bot-1".into()), None)
    };
    Fixture::with(())
        .given_no_previous_events()
        .when(AttendanceCommand::OpenOutbound(cmd))
        .then_expect_events(vec![outbound_opened(
            InFlow,
            None,
            Destination::Flow("bot-1".into()),
        )]);
}

#[test]
fn taking_an_outbound_attendance_is_forbidden_outside_my_services() {
    let cmd = OpenOutbound {
        actor_in_service: false,
        ..outbound(Destination::Service(id(SERVICE)), Some(text(7, "Oi")))
    };
    Fixture::with(())
        .given_no_previous_events()
        .when(AttendanceCommand::OpenOutbound(cmd))
        .then_expect_error(AttendanceError::Forbidden(
            "you do not belong to this service".into(),
        ));
}

#[test]
fn an_integration_cannot_open_an_outbound_attendance() {
    let cmd = OpenOutbound {
        actor: Actor {
            agent_id: id(9),
            role: Role::Integration,
        },
        ..outbound(Destination::Service(id(SERVICE)), Some(text(7, "Oi")))
    };
    Fixture::with(())
        .given_no_previous_events()
        .when(AttendanceCommand::OpenOutbound(cmd))
        .then_expect_error(AttendanceError::Forbidden(
            "integrations cannot act as an agent".into(),
        ));
}

#[test]
fn free_text_cannot_open_a_whatsapp_business_attendance_when_the_window_is_closed() {
    let cmd = OpenOutbound {
        window: WindowState {
            last_inbound_at: Some(t0() - Duration::hours(24)),
        },
        ..outbound(Destination::Service(id(SERVICE)), Some(text(7, "Oi")))
    };
    Fixture::with(())
        .given_no_previous_events()
        .when(AttendanceCommand::OpenOutbound(cmd))
        .then_expect_error(AttendanceError::WindowClosed);
}

#[test]
fn free_text_cannot_open_a_whatsapp_business_attendance_with_a_contact_who_never_wrote() {
    let cmd = OpenOutbound {
        window: WindowState::default(),
        ..outbound(Destination::Service(id(SERVICE)), Some(text(7, "Oi")))
    };
    assert_eq!(
        run(vec![], AttendanceCommand::OpenOutbound(cmd)),
        Err(AttendanceError::WindowClosed)
    );
}

#[test]
fn a_template_opens_a_whatsapp_business_attendance_when_the_window_is_closed() {
    let cmd = OpenOutbound {
        window: WindowState::default(),
        ..outbound(
            Destination::Service(id(SERVICE)),
            Some(template(7, &[" Ana ", "42"])),
        )
    };
    Fixture::with(())
        .given_no_previous_events()
        .when(AttendanceCommand::OpenOutbound(cmd))
        .then_expect_events(vec![
            outbound_opened(InProgress, Some(ME), Destination::Service(id(SERVICE))),
            AttendanceEvent::AgentMessageSent {
                message_id: id(7),
                agent_id: id(ME),
                content: MessageContent::Template {
                    template_id: id(TEMPLATE),
                    variables: vec!["Ana".into(), "42".into()],
                    rendered: "Olá Ana, seu pedido 42 chegou.".into(),
                },
                attachments: vec![],
                at: t0(),
            },
        ]);
}

#[test]
fn a_template_with_the_wrong_number_of_values_is_refused_under_the_message_field() {
    let cmd = outbound(
        Destination::Service(id(SERVICE)),
        Some(template(7, &["Ana"])),
    );
    Fixture::with(())
        .given_no_previous_events()
        .when(AttendanceCommand::OpenOutbound(cmd))
        .then_expect_error(AttendanceError::Validation(
            FieldError::new("message.templateVariables", "expected 2 values, got 1").into(),
        ));
}

#[test]
fn free_text_opens_an_attendance_on_other_channels_whatever_the_window() {
    let cmd = OpenOutbound {
        channel: ChannelType::Whatsapp,
        window: WindowState::default(),
        ..outbound(Destination::Service(id(SERVICE)), Some(text(7, "Oi")))
    };
    assert!(run(vec![], AttendanceCommand::OpenOutbound(cmd)).is_ok());
}

#[test]
fn a_message_with_more_than_10_attachments_exceeds_the_limit() {
    let mut message = text(7, "fotos");
    message.attachments = (0..=rules::MAX_ATTACHMENTS as u128).map(file).collect();
    let cmd = outbound(Destination::Service(id(SERVICE)), Some(message));
    assert_eq!(
        run(vec![], AttendanceCommand::OpenOutbound(cmd)),
        Err(AttendanceError::LimitExceeded {
            what: "attachments",
            limit: rules::MAX_ATTACHMENTS,
            got: 11
        })
    );
}

// ---------------------------------------------------------------- messages

fn customer_message(n: u128, at: DateTime<Utc>) -> AttendanceCommand {
    AttendanceCommand::ReceiveCustomerMessage(ReceiveCustomerMessage {
        message: InboundMessage {
            message_id: id(n),
            text: Some("oi".into()),
            attachments: vec![],
            external_id: None,
            at,
        },
        at,
    })
}

#[test]
fn a_customer_message_to_a_pending_attendance_keeps_it_pending_and_moves_its_last_interaction() {
    let later = t0() + Duration::hours(5);
    let events = run(pending_with_me(), customer_message(1001, later)).unwrap();
    assert_eq!(events, vec![customer_wrote(1001, later)]);
    let mut all = pending_with_me();
    all.extend(events);
    let state = after(all);
    assert_eq!(state.status, Pending);
    assert_eq!(state.agent_id, Some(id(ME)));
    assert_eq!(state.last_interaction_at, later);
    assert_eq!(state.last_inbound_at, Some(later));
    assert_eq!(state.message_count, 2);
}

#[test]
fn a_customer_message_with_only_an_attachment_is_accepted_and_previewed_by_its_file_name() {
    let cmd = AttendanceCommand::ReceiveCustomerMessage(ReceiveCustomerMessage {
        message: InboundMessage {
            message_id: id(1001),
            text: None,
            attachments: vec![file(1)],
            external_id: None,
            at: t0(),
        },
        at: t0(),
    });
    let mut all = in_progress_with_me();
    all.extend(run(in_progress_with_me(), cmd).unwrap());
    assert_eq!(after(all).last_message_preview.as_deref(), Some("foto.jpg"));
}

#[test]
fn a_customer_message_to_a_finalized_attendance_is_refused_so_a_new_one_opens() {
    Fixture::with(())
        .given(finalized())
        .when(customer_message(1001, t0()))
        .then_expect_error(AttendanceError::InvalidState {
            status: Finalized,
            action: "add a customer message to",
        });
}

#[test]
fn the_agent_in_progress_sends_a_message() {
    let at = t0() + Duration::minutes(1);
    Fixture::with(())
        .given(in_progress_with_me())
        .when(send(agent(ME), text(7, "Como posso ajudar?"), at))
        .then_expect_events(vec![sent_text(7, ME, "Como posso ajudar?", at)]);
}

#[test]
fn another_agent_cannot_send_a_message_in_my_attendance() {
    Fixture::with(())
        .given(in_progress_with_me())
        .when(send(agent(OTHER_AGENT), text(7, "Oi"), t0()))
        .then_expect_error(AttendanceError::Forbidden(
            "the attendance is not with you".into(),
        ));
}

#[test]
fn a_message_cannot_be_sent_to_a_pending_attendance_before_rescuing_it() {
    Fixture::with(())
        .given(pending_with_me())
        .when(send(agent(ME), text(7, "Oi"), t0()))
        .then_expect_error(AttendanceError::InvalidState {
            status: Pending,
            action: "send a message in",
        });
}

#[test]
fn an_empty_message_is_refused_on_the_text_field() {
    Fixture::with(())
        .given(in_progress_with_me())
        .when(send(agent(ME), text(7, "   "), t0()))
        .then_expect_error(AttendanceError::Validation(
            FieldError::new("text", "is required").into(),
        ));
}

#[test]
fn the_window_is_closed_at_exactly_24_hours_after_the_customer_wrote() {
    Fixture::with(())
        .given(in_progress_with_me())
        .when(send(agent(ME), text(7, "Oi"), t0() + Duration::hours(24)))
        .then_expect_error(AttendanceError::WindowClosed);
}

#[test]
fn the_window_is_still_open_at_23_hours_59_minutes_59_seconds() {
    let at = t0() + Duration::hours(23) + Duration::minutes(59) + Duration::seconds(59);
    Fixture::with(())
        .given(in_progress_with_me())
        .when(send(agent(ME), text(7, "Oi"), at))
        .then_expect_events(vec![sent_text(7, ME, "Oi", at)]);
}

#[test]
fn a_template_is_sent_when_the_window_is_closed() {
    let result = run(
        in_progress_with_me(),
        send(
            agent(ME),
            template(7, &["Ana", "42"]),
            t0() + Duration::days(3),
        ),
    );
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn the_contacts_later_message_in_another_attendance_keeps_the_window_open() {
    let at = t0() + Duration::hours(30);
    let cmd = AttendanceCommand::SendAgentMessage(SendAgentMessage {
        actor: agent(ME),
        message: text(7, "Oi"),
        window: WindowState {
            last_inbound_at: Some(t0() + Duration::hours(10)),
        },
        at,
    });
    assert!(run(in_progress_with_me(), cmd).is_ok());
}

#[test]
fn an_agent_message_moves_the_last_interaction_and_the_preview() {
    let at = t0() + Duration::minutes(2);
    let mut all = in_progress_with_me();
    all.push(sent_text(7, ME, "Linha 1\nLinha 2", at));
    let state = after(all);
    assert_eq!(state.last_interaction_at, at);
    assert_eq!(
        state.last_message_preview.as_deref(),
        Some("Linha 1 Linha 2")
    );
    assert_eq!(state.last_inbound_at, Some(t0()));
}

// ---------------------------------------------------------------- routing

#[test]
fn a_flow_hands_its_attendance_to_a_service_queue() {
    let given = vec![opened(InFlow, None)];
    let cmd = AttendanceCommand::HandOffToService(HandOffToService {
        service_id: id(OTHER_SERVICE),
        at: t0(),
    });
    let events = run(given.clone(), cmd).unwrap();
    assert_eq!(
        events,
        vec![AttendanceEvent::HandedOffToService {
            service_id: id(OTHER_SERVICE),
            at: t0()
        }]
    );
    let state = after([given, events].concat());
    assert_eq!(
        (state.status, state.service_id),
        (Waiting, Some(id(OTHER_SERVICE)))
    );
}

#[test]
fn only_an_attendance_in_flow_can_be_handed_off() {
    Fixture::with(())
        .given(vec![opened(Waiting, None)])
        .when(AttendanceCommand::HandOffToService(HandOffToService {
            service_id: id(SERVICE),
            at: t0(),
        }))
        .then_expect_error(AttendanceError::InvalidState {
            status: Waiting,
            action: "hand off",
        });
}

#[test]
fn the_router_assigns_a_waiting_attendance_to_an_agent() {
    Fixture::with(())
        .given(vec![opened(Waiting, None)])
        .when(AttendanceCommand::Assign(Assign {
            agent_id: id(ME),
            at: t0(),
        }))
        .then_expect_events(vec![AttendanceEvent::AttendanceAssigned {
            agent_id: id(ME),
            at: t0(),
        }]);
}

#[test]
fn an_attendance_in_progress_cannot_be_assigned_again() {
    Fixture::with(())
        .given(in_progress_with_me())
        .when(AttendanceCommand::Assign(Assign {
            agent_id: id(OTHER_AGENT),
            at: t0(),
        }))
        .then_expect_error(AttendanceError::InvalidState {
            status: InProgress,
            action: "assign",
        });
}

// ---------------------------------------------------------------- transfer

fn transfer(by: Actor, to: TransferTarget) -> AttendanceCommand {
    AttendanceCommand::Transfer(Transfer {
        actor: by,
        to,
        at: t0(),
    })
}
fn to_agent(n: u128) -> TransferTarget {
    TransferTarget::Agent {
        agent_id: id(n),
        same_account: true,
        active: true,
    }
}
fn to_service(n: u128) -> TransferTarget {
    TransferTarget::Service {
        service_id: id(n),
        same_account: true,
    }
}

#[test]
fn transferring_to_a_service_puts_the_attendance_back_in_its_queue_unassigned() {
    let events = run(
        in_progress_with_me(),
        transfer(agent(ME), to_service(OTHER_SERVICE)),
    )
    .unwrap();
    assert_eq!(
        events,
        vec![AttendanceEvent::AttendanceTransferred {
            by: id(ME),
            from_agent_id: Some(id(ME)),
            to: TransferredTo::Service(id(OTHER_SERVICE)),
            at: t0(),
        }]
    );
    let state = after([in_progress_with_me(), events].concat());
    assert_eq!(
        (state.status, state.agent_id, state.service_id),
        (Waiting, None, Some(id(OTHER_SERVICE)))
    );
}

#[test]
fn transferring_a_pending_attendance_to_an_agent_puts_it_in_progress_with_them() {
    let events = run(
        pending_with_me(),
        transfer(agent(ME), to_agent(OTHER_AGENT)),
    )
    .unwrap();
    let state = after([pending_with_me(), events].concat());
    assert_eq!(
        (state.status, state.agent_id),
        (InProgress, Some(id(OTHER_AGENT)))
    );
}

#[test]
fn a_supervisor_transfers_a_waiting_attendance_to_an_agent() {
    Fixture::with(())
        .given(vec![opened(Waiting, None)])
        .when(transfer(supervisor(), to_agent(ME)))
        .then_expect_events(vec![AttendanceEvent::AttendanceTransferred {
            by: id(SUPERVISOR),
            from_agent_id: None,
            to: TransferredTo::Agent(id(ME)),
            at: t0(),
        }]);
}

#[test]
fn a_supervisor_transfers_another_agents_attendance() {
    assert!(run(
        in_progress_with_me(),
        transfer(supervisor(), to_agent(OTHER_AGENT))
    )
    .is_ok());
}

#[test]
fn another_agent_cannot_transfer_my_attendance() {
    Fixture::with(())
        .given(in_progress_with_me())
        .when(transfer(agent(OTHER_AGENT), to_agent(OTHER_AGENT)))
        .then_expect_error(AttendanceError::Forbidden(
            "the attendance is not with you".into(),
        ));
}

#[test]
fn an_agent_cannot_transfer_a_waiting_attendance() {
    Fixture::with(())
        .given(vec![opened(Waiting, None)])
        .when(transfer(agent(ME), to_agent(ME)))
        .then_expect_error(AttendanceError::Forbidden(
            "the attendance is not with you".into(),
        ));
}

#[test]
fn transferring_to_the_agent_who_has_it_is_refused() {
    Fixture::with(())
        .given(in_progress_with_me())
        .when(transfer(agent(ME), to_agent(ME)))
        .then_expect_error(AttendanceError::Validation(
            FieldError::new("toAgentId", "the attendance is already with this agent").into(),
        ));
}

#[test]
fn transferring_to_the_queue_it_already_waits_in_is_refused() {
    Fixture::with(())
        .given(vec![opened(Waiting, None)])
        .when(transfer(supervisor(), to_service(SERVICE)))
        .then_expect_error(AttendanceError::Validation(
            FieldError::new(
                "toServiceId",
                "the attendance is already waiting in this service",
            )
            .into(),
        ));
}

#[test]
fn transferring_to_an_agent_outside_the_account_or_inactive_is_refused() {
    let elsewhere = TransferTarget::Agent {
        agent_id: id(OTHER_AGENT),
        same_account: false,
        active: true,
    };
    let inactive = TransferTarget::Agent {
        agent_id: id(OTHER_AGENT),
        same_account: true,
        active: false,
    };
    let foreign_service = TransferTarget::Service {
        service_id: id(OTHER_SERVICE),
        same_account: false,
    };
    for target in [elsewhere, inactive, foreign_service] {
        let result = run(in_progress_with_me(), transfer(agent(ME), target));
        assert!(
            matches!(result, Err(AttendanceError::Validation(_))),
            "{result:?}"
        );
    }
}

#[test]
fn an_attendance_in_flow_cannot_be_transferred() {
    Fixture::with(())
        .given(vec![opened(InFlow, None)])
        .when(transfer(supervisor(), to_service(SERVICE)))
        .then_expect_error(AttendanceError::InvalidState {
            status: InFlow,
            action: "transfer",
        });
}

// ---------------------------------------------------------------- pending and rescue

#[test]
fn the_agent_marks_their_attendance_pending() {
    Fixture::with(())
        .given(in_progress_with_me())
        .when(AttendanceCommand::MarkPending(MarkPending {
            actor: agent(ME),
            at: t0(),
        }))
        .then_expect_events(vec![AttendanceEvent::AttendanceMarkedPending {
            agent_id: id(ME),
            by_logout: false,
            at: t0(),
        }]);
}

#[test]
fn another_agent_cannot_mark_my_attendance_pending() {
    Fixture::with(())
        .given(in_progress_with_me())
        .when(AttendanceCommand::MarkPending(MarkPending {
            actor: agent(OTHER_AGENT),
            at: t0(),
        }))
        .then_expect_error(AttendanceError::Forbidden(
            "the attendance is not with you".into(),
        ));
}

#[test]
fn a_pending_attendance_cannot_be_marked_pending_again() {
    Fixture::with(())
        .given(pending_with_me())
        .when(AttendanceCommand::MarkPending(MarkPending {
            actor: agent(ME),
            at: t0(),
        }))
        .then_expect_error(AttendanceError::InvalidState {
            status: Pending,
            action: "mark pending",
        });
}

#[test]
fn the_agent_rescues_their_pending_attendance() {
    let events = run(
        pending_with_me(),
        AttendanceCommand::Rescue(Rescue {
            actor: agent(ME),
            at: t0(),
        }),
    )
    .unwrap();
    assert_eq!(
        events,
        vec![AttendanceEvent::AttendanceRescued {
            agent_id: id(ME),
            at: t0()
        }]
    );
    assert_eq!(
        after([pending_with_me(), events].concat()).status,
        InProgress
    );
}

#[test]
fn another_agent_cannot_rescue_my_pending_attendance() {
    Fixture::with(())
        .given(pending_with_me())
        .when(AttendanceCommand::Rescue(Rescue {
            actor: supervisor(),
            at: t0(),
        }))
        .then_expect_error(AttendanceError::Forbidden(
            "the attendance is not with you".into(),
        ));
}

#[test]
fn an_attendance_in_progress_cannot_be_rescued() {
    Fixture::with(())
        .given(in_progress_with_me())
        .when(AttendanceCommand::Rescue(Rescue {
            actor: agent(ME),
            at: t0(),
        }))
        .then_expect_error(AttendanceError::InvalidState {
            status: InProgress,
            action: "rescue",
        });
}

#[test]
fn logging_out_parks_the_attendance_in_progress_as_pending_with_the_agent() {
    let cmd = AttendanceCommand::ParkOnLogout(ParkOnLogout {
        agent_id: id(ME),
        at: t0(),
    });
    let events = run(in_progress_with_me(), cmd).unwrap();
    assert_eq!(
        events,
        vec![AttendanceEvent::AttendanceMarkedPending {
            agent_id: id(ME),
            by_logout: true,
            at: t0()
        }]
    );
    let state = after([in_progress_with_me(), events].concat());
    assert_eq!((state.status, state.agent_id), (Pending, Some(id(ME))));
}

#[test]
fn logging_out_does_not_park_another_agents_attendance() {
    Fixture::with(())
        .given(in_progress_with_me())
        .when(AttendanceCommand::ParkOnLogout(ParkOnLogout {
            agent_id: id(OTHER_AGENT),
            at: t0(),
        }))
        .then_expect_error(AttendanceError::Forbidden(
            "the attendance is not with this agent".into(),
        ));
}

#[test]
fn logging_out_leaves_a_pending_attendance_as_it_is() {
    Fixture::with(())
        .given(pending_with_me())
        .when(AttendanceCommand::ParkOnLogout(ParkOnLogout {
            agent_id: id(ME),
            at: t0(),
        }))
        .then_expect_error(AttendanceError::InvalidState {
            status: Pending,
            action: "park",
        });
}

// ---------------------------------------------------------------- finalize

fn finalize(by: Actor, survey_enabled: bool, bulk: bool) -> AttendanceCommand {
    AttendanceCommand::Finalize(Finalize {
        actor: by,
        reason: Some(" resolvido ".into()),
        survey_enabled,
        bulk,
        at: t0(),
    })
}
fn finalized_event(by: u128, survey_requested: bool, bulk: bool) -> AttendanceEvent {
    AttendanceEvent::AttendanceFinalized {
        by: id(by),
        agent_id: Some(id(ME)),
        reason: Some("resolvido".into()),
        survey_requested,
        bulk,
        at: t0(),
    }
}

#[test]
fn finalizing_one_attendance_of_a_service_with_a_survey_requests_it() {
    Fixture::with(())
        .given(in_progress_with_me())
        .when(finalize(agent(ME), true, false))
        .then_expect_events(vec![finalized_event(ME, true, false)]);
}

#[test]
fn finalizing_in_bulk_never_requests_the_survey() {
    Fixture::with(())
        .given(pending_with_me())
        .when(finalize(agent(ME), true, true))
        .then_expect_events(vec![finalized_event(ME, false, true)]);
}

#[test]
fn finalizing_in_a_service_without_a_survey_does_not_request_it() {
    Fixture::with(())
        .given(in_progress_with_me())
        .when(finalize(agent(ME), false, false))
        .then_expect_events(vec![finalized_event(ME, false, false)]);
}

#[test]
fn a_finalized_attendance_records_when_why_and_the_survey() {
    let state = after(
        [
            in_progress_with_me(),
            vec![finalized_event(ME, true, false)],
        ]
        .concat(),
    );
    assert_eq!(state.status, Finalized);
    assert_eq!(state.finalized_at, Some(t0()));
    assert_eq!(state.finalize_reason.as_deref(), Some("resolvido"));
    assert!(state.survey_requested);
    assert_eq!(state.agent_id, Some(id(ME)));
}

#[test]
fn a_supervisor_finalizes_another_agents_attendance() {
    Fixture::with(())
        .given(in_progress_with_me())
        .when(finalize(supervisor(), true, false))
        .then_expect_events(vec![finalized_event(SUPERVISOR, true, false)]);
}

#[test]
fn another_agent_cannot_finalize_my_attendance() {
    Fixture::with(())
        .given(pending_with_me())
        .when(finalize(agent(OTHER_AGENT), true, false))
        .then_expect_error(AttendanceError::Forbidden(
            "the attendance is not with you".into(),
        ));
}

#[test]
fn only_a_supervisor_finalizes_a_waiting_or_in_flow_attendance() {
    for status in [Waiting, InFlow] {
        let given = vec![opened(status, None)];
        assert_eq!(
            run(given.clone(), finalize(agent(ME), true, false)),
            Err(AttendanceError::Forbidden(
                "the attendance is not with you".into()
            ))
        );
        assert!(run(given, finalize(supervisor(), true, false)).is_ok());
    }
}

#[test]
fn a_finalized_attendance_cannot_be_finalized_again() {
    Fixture::with(())
        .given(finalized())
        .when(finalize(agent(ME), true, false))
        .then_expect_error(AttendanceError::InvalidState {
            status: Finalized,
            action: "finalize",
        });
}

#[test]
fn a_finalize_reason_over_the_limit_is_refused() {
    let cmd = AttendanceCommand::Finalize(Finalize {
        actor: agent(ME),
        reason: Some("a".repeat(rules::FINALIZE_REASON_MAX_CHARS + 1)),
        survey_enabled: false,
        bulk: false,
        at: t0(),
    });
    let result = run(in_progress_with_me(), cmd);
    assert!(
        matches!(&result, Err(AttendanceError::Validation(e)) if e.0[0].field == "reason"),
        "{result:?}"
    );
}

// ---------------------------------------------------------------- the state stays small

#[test]
fn the_state_does_not_grow_with_the_number_of_messages() {
    let mut attendance = Attendance::default();
    for e in in_progress_with_me() {
        attendance.apply(e);
    }
    let size_after_one = serde_json::to_string(&attendance).unwrap().len();
    for n in 0..10_000u128 {
        attendance.apply(customer_wrote(2000 + n, t0() + Duration::seconds(n as i64)));
    }
    let size_after_many = serde_json::to_string(&attendance).unwrap().len();
    assert_eq!(attendance.state().unwrap().message_count, 10_001);
    assert!(
        size_after_many < size_after_one + 16,
        "{size_after_one} -> {size_after_many}"
    );
}

#[test]
fn event_names_are_fixed_and_start_at_version_1() {
    assert_eq!(opened(Waiting, None).event_type(), "AttendanceOpened");
    assert_eq!(
        finalized_event(ME, true, false).event_type(),
        "AttendanceFinalized"
    );
    assert_eq!(customer_wrote(1, t0()).event_version(), "1.0");
}

#[test]
fn destinations_and_contents_are_stored_with_their_api_names() {
    let json = serde_json::to_value(Destination::Service(id(SERVICE))).unwrap();
    assert_eq!(json["type"], "SERVICE");
    let json = serde_json::to_value(MessageContent::Text { text: "oi".into() }).unwrap();
    assert_eq!(json["kind"], "TEXT");
}
