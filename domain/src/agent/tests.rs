//! Given/when/then tests of the Agent aggregate: every transition and every refusal.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::kinds::{PresenceStatus, Role};
use crate::validation::{FieldError, ValidationErrors};

type Fixture = TestFramework<Agent>;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}
fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}
const AGENT: u128 = 1;
const S1: u128 = 11;
const S2: u128 = 12;
const LUNCH: u128 = 21;
const TRAINING: u128 = 22;

fn register_cmd() -> RegisterAgent {
    RegisterAgent {
        agent_id: id(AGENT),
        name: " Ana Souza ".into(),
        email: "Ana@Example.com".into(),
        email_taken_by: None,
        password_hash: "$argon2id$v=19$hash".into(),
        role: Role::Agent,
        service_ids: vec![id(3), id(2), id(3)],
        max_concurrent: 5,
        at: t0(),
    }
}
fn registered() -> AgentEvent {
    AgentEvent::AgentRegistered {
        agent_id: id(AGENT),
        name: "Ana Souza".into(),
        email: crate::values::Email::parse("ana@example.com").unwrap(),
        password_hash: "$argon2id$v=19$hash".into(),
        role: Role::Agent,
        service_ids: vec![id(2), id(3)],
        max_concurrent: 5,
        at: t0(),
    }
}
fn logged_in(session: u128, at: DateTime<Utc>) -> AgentEvent {
    AgentEvent::AgentLoggedIn {
        session_id: id(session),
        at,
    }
}
fn pause_started(reason: u128, at: DateTime<Utc>) -> AgentEvent {
    AgentEvent::PauseStarted {
        reason_id: id(reason),
        at,
    }
}
fn log_out(session: u128, at: DateTime<Utc>) -> AgentCommand {
    AgentCommand::LogOut(LogOut {
        session_id: id(session),
        reason: LogoutReason::Manual,
        at,
    })
}
fn agent_after(events: Vec<AgentEvent>) -> Agent {
    let mut agent = Agent::default();
    for e in events {
        cqrs_es::Aggregate::apply(&mut agent, e);
    }
    agent
}

#[test]
fn registering_trims_the_name_lowercases_the_email_and_sorts_the_services() {
    Fixture::with(())
        .given_no_previous_events()
        .when(AgentCommand::Register(register_cmd()))
        .then_expect_events(vec![registered()]);
}

#[test]
fn registering_twice_is_a_conflict() {
    Fixture::with(())
        .given(vec![registered()])
        .when(AgentCommand::Register(register_cmd()))
        .then_expect_error(AgentError::AlreadyRegistered);
}

#[test]
fn registering_lists_every_bad_field_at_once() {
    let cmd = RegisterAgent {
        name: "  ".into(),
        email: "not-an-email".into(),
        role: Role::Integration,
        max_concurrent: rules::MAX_CONCURRENT_LIMIT + 1,
        password_hash: String::new(),
        ..register_cmd()
    };
    let Err(AgentError::Validation(ValidationErrors(errors))) =
        Agent::default().decide(AgentCommand::Register(cmd))
    else {
        panic!("expected a validation error");
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["name", "email", "role", "maxConcurrent", "password"]
    );
}

#[test]
fn registering_with_a_zero_concurrent_limit_is_refused() {
    let cmd = RegisterAgent {
        max_concurrent: 0,
        ..register_cmd()
    };
    assert!(matches!(
        Agent::default().decide(AgentCommand::Register(cmd)),
        Err(AgentError::Validation(_))
    ));
}

#[test]
fn registering_with_an_email_in_use_names_the_other_agent() {
    let cmd = RegisterAgent {
        email_taken_by: Some(id(99)),
        ..register_cmd()
    };
    Fixture::with(())
        .given_no_previous_events()
        .when(AgentCommand::Register(cmd))
        .then_expect_error(AgentError::EmailInUse {
            existing_id: id(99),
        });
}

#[test]
fn commands_to_an_unregistered_agent_are_not_found() {
    Fixture::with(())
        .given_no_previous_events()
        .when(AgentCommand::LogIn(LogIn {
            session_id: id(S1),
            at: t0(),
        }))
        .then_expect_error(AgentError::NotFound);
}

#[test]
fn an_update_emits_only_what_changed() {
    let cmd = UpdateAgent {
        name: Some("Ana Souza".into()),
        role: Some(Role::Supervisor),
        service_ids: Some(vec![id(3), id(2)]),
        max_concurrent: Some(8),
        active: Some(true),
        at: t0(),
    };
    let changes = AgentChanges {
        role: Some(Role::Supervisor),
        max_concurrent: Some(8),
        ..AgentChanges::default()
    };
    Fixture::with(())
        .given(vec![registered()])
        .when(AgentCommand::Update(cmd))
        .then_expect_events(vec![AgentEvent::AgentUpdated { changes, at: t0() }]);
}

#[test]
fn an_update_that_changes_nothing_emits_nothing() {
    let cmd = UpdateAgent {
        name: Some(" Ana Souza".into()),
        at: t0(),
        ..UpdateAgent::default()
    };
    Fixture::with(())
        .given(vec![registered()])
        .when(AgentCommand::Update(cmd))
        .then_expect_events(vec![]);
}

#[test]
fn an_update_with_a_bad_name_is_refused() {
    let cmd = UpdateAgent {
        name: Some(String::new()),
        at: t0(),
        ..UpdateAgent::default()
    };
    Fixture::with(())
        .given(vec![registered()])
        .when(AgentCommand::Update(cmd))
        .then_expect_error(AgentError::Validation(
            FieldError::new("name", "is required").into(),
        ));
}

#[test]
fn deactivating_a_logged_in_agent_ends_the_pause_and_every_session() {
    let at = t0() + Duration::hours(2);
    let cmd = UpdateAgent {
        active: Some(false),
        at,
        ..UpdateAgent::default()
    };
    Fixture::with(())
        .given(vec![
            registered(),
            logged_in(S1, t0()),
            logged_in(S2, t0()),
            pause_started(LUNCH, t0()),
        ])
        .when(AgentCommand::Update(cmd))
        .then_expect_events(vec![
            AgentEvent::AgentUpdated {
                changes: AgentChanges {
                    active: Some(false),
                    ..AgentChanges::default()
                },
                at,
            },
            AgentEvent::PauseEnded {
                reason_id: id(LUNCH),
                since: t0(),
                at,
            },
            AgentEvent::AgentLoggedOut {
                session_id: id(S1),
                reason: LogoutReason::Deactivated,
                went_offline: false,
                at,
            },
            AgentEvent::AgentLoggedOut {
                session_id: id(S2),
                reason: LogoutReason::Deactivated,
                went_offline: true,
                at,
            },
        ]);
}

#[test]
fn changing_the_password_ends_every_other_session() {
    let cmd = ChangePassword {
        new_password_hash: "$argon2id$new".into(),
        current_session_id: Some(id(S1)),
        allowed_by_settings: true,
        at: t0(),
    };
    Fixture::with(())
        .given(vec![registered(), logged_in(S1, t0()), logged_in(S2, t0())])
        .when(AgentCommand::ChangePassword(cmd))
        .then_expect_events(vec![
            AgentEvent::AgentPasswordChanged {
                password_hash: "$argon2id$new".into(),
                at: t0(),
            },
            AgentEvent::AgentLoggedOut {
                session_id: id(S2),
                reason: LogoutReason::PasswordChanged,
                went_offline: false,
                at: t0(),
            },
        ]);
}

#[test]
fn changing_the_password_is_forbidden_when_the_setting_is_off() {
    let cmd = ChangePassword {
        new_password_hash: "$argon2id$new".into(),
        current_session_id: None,
        allowed_by_settings: false,
        at: t0(),
    };
    Fixture::with(())
        .given(vec![registered()])
        .when(AgentCommand::ChangePassword(cmd))
        .then_expect_error(AgentError::Forbidden(
            "password change is disabled by the administrator".into(),
        ));
}

fn image(size: u64, content_type: &str) -> ImageRef {
    ImageRef {
        sha256: "ab".repeat(32),
        content_type: content_type.into(),
        size,
    }
}

#[test]
fn changing_the_image_records_its_reference() {
    let cmd = ChangeAgentImage {
        image: image(1000, "image/png"),
        allowed_by_settings: true,
        at: t0(),
    };
    Fixture::with(())
        .given(vec![registered()])
        .when(AgentCommand::ChangeImage(cmd))
        .then_expect_events(vec![AgentEvent::AgentImageChanged {
            image: image(1000, "image/png"),
            at: t0(),
        }]);
}

#[test]
fn an_image_over_5_mib_exceeds_the_limit() {
    let size = rules::IMAGE_MAX_BYTES + 1;
    let cmd = ChangeAgentImage {
        image: image(size, "image/png"),
        allowed_by_settings: true,
        at: t0(),
    };
    Fixture::with(())
        .given(vec![registered()])
        .when(AgentCommand::ChangeImage(cmd))
        .then_expect_error(AgentError::ImageTooLarge {
            size,
            limit: rules::IMAGE_MAX_BYTES,
        });
}

#[test]
fn an_image_that_is_not_png_jpeg_or_webp_is_refused() {
    let cmd = ChangeAgentImage {
        image: image(10, "image/gif"),
        allowed_by_settings: true,
        at: t0(),
    };
    Fixture::with(())
        .given(vec![registered()])
        .when(AgentCommand::ChangeImage(cmd))
        .then_expect_error(AgentError::Validation(
            FieldError::new("image", "must be a PNG, JPEG or WebP image").into(),
        ));
}

#[test]
fn changing_the_image_is_forbidden_when_the_setting_is_off() {
    let cmd = ChangeAgentImage {
        image: image(10, "image/png"),
        allowed_by_settings: false,
        at: t0(),
    };
    Fixture::with(())
        .given(vec![registered()])
        .when(AgentCommand::ChangeImage(cmd))
        .then_expect_error(AgentError::Forbidden(
            "image change is disabled by the administrator".into(),
        ));
}

#[test]
fn logging_in_opens_a_session_and_makes_the_agent_online() {
    Fixture::with(())
        .given(vec![registered()])
        .when(AgentCommand::LogIn(LogIn {
            session_id: id(S1),
            at: t0(),
        }))
        .then_expect_events(vec![logged_in(S1, t0())]);
    let agent = agent_after(vec![registered(), logged_in(S1, t0())]);
    assert_eq!(agent.presence(), PresenceStatus::Online);
    assert!(agent.is_available());
}

#[test]
fn logging_in_again_with_the_same_session_changes_nothing() {
    Fixture::with(())
        .given(vec![registered(), logged_in(S1, t0())])
        .when(AgentCommand::LogIn(LogIn {
            session_id: id(S1),
            at: t0(),
        }))
        .then_expect_events(vec![]);
}

#[test]
fn an_inactive_agent_cannot_log_in() {
    let deactivated = AgentEvent::AgentUpdated {
        changes: AgentChanges {
            active: Some(false),
            ..AgentChanges::default()
        },
        at: t0(),
    };
    Fixture::with(())
        .given(vec![registered(), deactivated])
        .when(AgentCommand::LogIn(LogIn {
            session_id: id(S1),
            at: t0(),
        }))
        .then_expect_error(AgentError::Forbidden("the agent is inactive".into()));
}

#[test]
fn logging_out_one_of_two_sessions_keeps_the_agent_online() {
    Fixture::with(())
        .given(vec![registered(), logged_in(S1, t0()), logged_in(S2, t0())])
        .when(log_out(S1, t0()))
        .then_expect_events(vec![AgentEvent::AgentLoggedOut {
            session_id: id(S1),
            reason: LogoutReason::Manual,
            went_offline: false,
            at: t0(),
        }]);
}

#[test]
fn logging_out_the_last_session_ends_the_pause_first() {
    let at = t0() + Duration::minutes(30);
    Fixture::with(())
        .given(vec![
            registered(),
            logged_in(S1, t0()),
            pause_started(LUNCH, t0()),
        ])
        .when(log_out(S1, at))
        .then_expect_events(vec![
            AgentEvent::PauseEnded {
                reason_id: id(LUNCH),
                since: t0(),
                at,
            },
            AgentEvent::AgentLoggedOut {
                session_id: id(S1),
                reason: LogoutReason::Manual,
                went_offline: true,
                at,
            },
        ]);
}

#[test]
fn logging_out_a_session_that_is_not_open_changes_nothing() {
    Fixture::with(())
        .given(vec![registered(), logged_in(S1, t0())])
        .when(log_out(S2, t0()))
        .then_expect_events(vec![]);
}

#[test]
fn a_pause_starts_only_while_logged_in() {
    Fixture::with(())
        .given(vec![registered()])
        .when(AgentCommand::StartPause(StartPause {
            reason_id: id(LUNCH),
            at: t0(),
        }))
        .then_expect_error(AgentError::InvalidState {
            presence: PresenceStatus::Offline,
            action: "start a pause",
        });
}

#[test]
fn starting_a_pause_makes_the_agent_paused_and_unavailable() {
    Fixture::with(())
        .given(vec![registered(), logged_in(S1, t0())])
        .when(AgentCommand::StartPause(StartPause {
            reason_id: id(LUNCH),
            at: t0(),
        }))
        .then_expect_events(vec![pause_started(LUNCH, t0())]);
    let agent = agent_after(vec![
        registered(),
        logged_in(S1, t0()),
        pause_started(LUNCH, t0()),
    ]);
    assert_eq!(agent.presence(), PresenceStatus::Paused);
    assert!(!agent.is_available());
}

#[test]
fn starting_a_pause_during_a_pause_changes_its_reason_and_keeps_its_start() {
    let at = t0() + Duration::minutes(5);
    Fixture::with(())
        .given(vec![
            registered(),
            logged_in(S1, t0()),
            pause_started(LUNCH, t0()),
        ])
        .when(AgentCommand::StartPause(StartPause {
            reason_id: id(TRAINING),
            at,
        }))
        .then_expect_events(vec![AgentEvent::PauseReasonChanged {
            previous_reason_id: id(LUNCH),
            reason_id: id(TRAINING),
            at,
        }]);
    let agent = agent_after(vec![
        registered(),
        logged_in(S1, t0()),
        pause_started(LUNCH, t0()),
        AgentEvent::PauseReasonChanged {
            previous_reason_id: id(LUNCH),
            reason_id: id(TRAINING),
            at,
        },
    ]);
    assert_eq!(
        agent.state().unwrap().pause,
        Some(ActivePause {
            reason_id: id(TRAINING),
            since: t0()
        })
    );
}

#[test]
fn starting_the_running_pause_again_changes_nothing() {
    Fixture::with(())
        .given(vec![
            registered(),
            logged_in(S1, t0()),
            pause_started(LUNCH, t0()),
        ])
        .when(AgentCommand::StartPause(StartPause {
            reason_id: id(LUNCH),
            at: t0(),
        }))
        .then_expect_events(vec![]);
}

#[test]
fn ending_a_pause_records_its_reason_and_start() {
    let at = t0() + Duration::minutes(15);
    Fixture::with(())
        .given(vec![
            registered(),
            logged_in(S1, t0()),
            pause_started(LUNCH, t0()),
        ])
        .when(AgentCommand::EndPause(EndPause { at }))
        .then_expect_events(vec![AgentEvent::PauseEnded {
            reason_id: id(LUNCH),
            since: t0(),
            at,
        }]);
}

#[test]
fn ending_a_pause_without_one_is_an_invalid_state() {
    Fixture::with(())
        .given(vec![registered(), logged_in(S1, t0())])
        .when(AgentCommand::EndPause(EndPause { at: t0() }))
        .then_expect_error(AgentError::InvalidState {
            presence: PresenceStatus::Online,
            action: "end a pause",
        });
}

#[test]
fn logged_seconds_count_from_the_first_session_and_include_pauses() {
    let second = t0() + Duration::minutes(10);
    let agent = agent_after(vec![
        registered(),
        logged_in(S1, t0()),
        logged_in(S2, second),
        pause_started(LUNCH, second),
    ]);
    assert_eq!(agent.state().unwrap().logged_in_since, Some(t0()));
    assert_eq!(agent.logged_seconds(t0() + Duration::hours(1)), 3600);
}

#[test]
fn logged_seconds_are_zero_while_offline_and_restart_at_the_next_login() {
    let out = t0() + Duration::hours(1);
    let back = t0() + Duration::hours(2);
    let offline = agent_after(vec![
        registered(),
        logged_in(S1, t0()),
        AgentEvent::AgentLoggedOut {
            session_id: id(S1),
            reason: LogoutReason::Manual,
            went_offline: true,
            at: out,
        },
    ]);
    assert_eq!(offline.logged_seconds(back), 0);
    assert_eq!(offline.presence(), PresenceStatus::Offline);
    let mut again = offline;
    cqrs_es::Aggregate::apply(&mut again, logged_in(S2, back));
    assert_eq!(again.logged_seconds(back + Duration::seconds(42)), 42);
}

#[test]
fn event_names_are_fixed_and_start_at_version_1() {
    use cqrs_es::DomainEvent;
    assert_eq!(registered().event_type(), "AgentRegistered");
    assert_eq!(pause_started(LUNCH, t0()).event_type(), "PauseStarted");
    assert_eq!(registered().event_version(), "1.0");
}
