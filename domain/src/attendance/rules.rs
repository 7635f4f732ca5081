//! The Attendance aggregate's rules, one place to find each: the WhatsApp window, who may act on
//! an attendance, bulk limits, the protocol number, and the limits on what a message holds.
//!
//! # Who may do what
//! | command | applies in | who |
//! |---|---|---|
//! | send a message, mark pending | IN_PROGRESS | its agent |
//! | rescue | PENDING | its agent |
//! | transfer | WAITING, IN_PROGRESS, PENDING | its agent; any supervisor or admin |
//! | finalize | every state but FINALIZED | its agent; any supervisor or admin (so a queue or a stuck flow can be cleaned up) |
//! | open outbound | — | agents, supervisors, admins; taking it requires belonging to the service |
//!
//! "Any" means any attendance the use case lets the actor see (their accounts); the use case
//! answers NOT_FOUND for the others. Integrations never act as a person.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

use super::aggregate::AttendanceState;
use super::command::{Actor, OutboundContent};
use super::error::AttendanceError;
use super::event::AttachmentRef;
use crate::kinds::{ChannelType, Role};
use crate::validation::{FieldError, ValidationErrors};
use crate::values::text::optional_text;

/// The WhatsApp Business API customer-service window: free text may be sent until 24 hours after
/// the customer's last message; after that, only an approved template (Meta's rule).
pub const WINDOW: TimeDelta = TimeDelta::hours(24);

/// Most attendances one bulk action takes (item 6): what an agent can review on one screen, and a
/// bound on the work one request does.
pub const MAX_BULK: usize = 50;

/// Longest message an agent may send, in characters: WhatsApp's limit for a text body, the
/// strictest of the channels.
pub const MESSAGE_MAX_CHARS: usize = 4096;

/// Longest customer message accepted, in characters: generous (e-mail bodies), yet a bound on
/// what one event stores.
pub const INBOUND_TEXT_MAX_CHARS: usize = 65_536;

/// Most files in one message: more is a batch upload, not a conversation.
pub const MAX_ATTACHMENTS: usize = 10;

/// Longest attachment file name, in characters (the common file-system limit).
pub const FILE_NAME_MAX_CHARS: usize = 255;

/// Length of the last-message preview in lists, in characters: one line of the panel.
pub const PREVIEW_MAX_CHARS: usize = 120;

/// Longest finalize reason, in characters: a note, not a report.
pub const FINALIZE_REASON_MAX_CHARS: usize = 500;

/// Longest flow identifier, in characters: flow engines use short slugs or UUIDs.
pub const FLOW_ID_MAX_CHARS: usize = 200;

/// Longest gateway message id, in characters: WhatsApp's `wamid`s are about 60.
pub const EXTERNAL_ID_MAX_CHARS: usize = 200;

/// Longest protocol, in characters: [`protocol_number`] makes 15.
pub const PROTOCOL_MAX_CHARS: usize = 32;

/// When the window opened by a customer message at `last_inbound` closes.
pub fn window_closes_at(last_inbound: DateTime<Utc>) -> DateTime<Utc> {
    last_inbound + WINDOW
}

/// Whether free text may be sent at `now`. Closed at exactly 24 hours, and closed when the
/// customer never wrote.
pub fn window_open(last_inbound: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_inbound.is_some_and(|t| now < window_closes_at(t))
}

/// Only the WhatsApp Business API has the window; other channels take free text at any time.
pub fn window_applies(channel: ChannelType) -> bool {
    channel == ChannelType::WhatsappBusinessApi
}

/// Free text on a channel with a closed window is refused; a template is always allowed.
pub fn check_window(
    channel: ChannelType,
    last_inbound: Option<DateTime<Utc>>,
    content: &OutboundContent,
    now: DateTime<Utc>,
) -> Result<(), AttendanceError> {
    let free_text = matches!(content, OutboundContent::Text(_));
    if free_text && window_applies(channel) && !window_open(last_inbound, now) {
        return Err(AttendanceError::WindowClosed);
    }
    Ok(())
}

/// The ids of a bulk action, duplicates dropped (first occurrence kept): 1 to [`MAX_BULK`]
/// distinct ids, else nothing is done. Empty is a validation error; too many exceed the limit.
pub fn check_bulk(ids: &[Uuid]) -> Result<Vec<Uuid>, AttendanceError> {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    let distinct: Vec<Uuid> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    if distinct.is_empty() {
        return Err(FieldError::new("attendanceIds", "must name at least one attendance").into());
    }
    if distinct.len() > MAX_BULK {
        return Err(AttendanceError::LimitExceeded {
            what: "attendance ids",
            limit: MAX_BULK,
            got: distinct.len(),
        });
    }
    Ok(distinct)
}

/// The human-readable protocol: the account-local opening day and that day's sequence,
/// `20261127-000042`. The use case takes the sequence from the database, so it is unique.
pub fn protocol_number(local_date: NaiveDate, daily_sequence: u32) -> String {
    format!("{}-{daily_sequence:06}", local_date.format("%Y%m%d"))
}

/// Supervisors and admins may transfer and finalize attendances that are not theirs.
pub fn supervises(role: Role) -> bool {
    matches!(role, Role::Supervisor | Role::Admin)
}

/// Integrations act through their own commands, never as a person.
pub fn check_person(actor: &Actor) -> Result<(), AttendanceError> {
    if actor.role == Role::Integration {
        return Err(AttendanceError::Forbidden(
            "integrations cannot act as an agent".into(),
        ));
    }
    Ok(())
}

/// Only the agent the attendance is with.
pub fn check_holder(actor: &Actor, state: &AttendanceState) -> Result<(), AttendanceError> {
    check_person(actor)?;
    if state.agent_id != Some(actor.agent_id) {
        return Err(AttendanceError::Forbidden(
            "the attendance is not with you".into(),
        ));
    }
    Ok(())
}

/// The agent the attendance is with, or a supervisor or admin.
pub fn check_holder_or_supervisor(
    actor: &Actor,
    state: &AttendanceState,
) -> Result<(), AttendanceError> {
    check_person(actor)?;
    if state.agent_id != Some(actor.agent_id) && !supervises(actor.role) {
        return Err(AttendanceError::Forbidden(
            "the attendance is not with you".into(),
        ));
    }
    Ok(())
}

/// An agent's text: trimmed, 1 to [`MESSAGE_MAX_CHARS`] characters, line breaks and tabs allowed
/// but no other control character (PostgreSQL cannot store `\0` in the event's jsonb).
pub fn parse_outbound_text(raw: &str) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(FieldError::new("", "is required"));
    }
    if text.chars().count() > MESSAGE_MAX_CHARS {
        return Err(FieldError::new(
            "",
            format!("must be at most {MESSAGE_MAX_CHARS} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(FieldError::new("", "must not contain control characters"));
    }
    Ok(text.to_string())
}

/// A customer's text, kept as written but for `\0` (dropped: PostgreSQL cannot store it, and the
/// customer's message must not be lost over it). Blank means none.
pub fn parse_inbound_text(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(text) = raw
        .map(|t| t.replace('\0', ""))
        .filter(|t| !t.trim().is_empty())
    else {
        return Ok(None);
    };
    if text.chars().count() > INBOUND_TEXT_MAX_CHARS {
        return Err(FieldError::new(
            "",
            format!("must be at most {INBOUND_TEXT_MAX_CHARS} characters"),
        ));
    }
    Ok(Some(text))
}

/// At most [`MAX_ATTACHMENTS`], each with a file name and a content type.
pub fn check_attachments(attachments: &[AttachmentRef]) -> Result<(), AttendanceError> {
    if attachments.len() > MAX_ATTACHMENTS {
        return Err(AttendanceError::LimitExceeded {
            what: "attachments",
            limit: MAX_ATTACHMENTS,
            got: attachments.len(),
        });
    }
    let mut errors = ValidationErrors::default();
    for (i, a) in attachments.iter().enumerate() {
        let name = a.file_name.trim();
        if name.is_empty()
            || name.chars().count() > FILE_NAME_MAX_CHARS
            || name.chars().any(char::is_control)
        {
            errors.push(FieldError::new(
                format!("attachments.{i}.fileName"),
                format!("must have 1 to {FILE_NAME_MAX_CHARS} characters on one line"),
            ));
        }
        if a.content_type.trim().is_empty() {
            errors.push(FieldError::new(
                format!("attachments.{i}.contentType"),
                "is required",
            ));
        }
    }
    Ok(errors.into_result()?)
}

/// An optional one-line note of at most [`FINALIZE_REASON_MAX_CHARS`] characters.
pub fn parse_finalize_reason(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    optional_text(raw, FINALIZE_REASON_MAX_CHARS)
}

/// The one-line preview lists show: the text with its blanks collapsed, cut at
/// [`PREVIEW_MAX_CHARS`]; without text, the first file's name. Shared with the projections.
pub fn preview(text: Option<&str>, attachments: &[AttachmentRef]) -> Option<String> {
    let line = text
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty());
    match line {
        Some(line) if line.chars().count() > PREVIEW_MAX_CHARS => {
            let cut: String = line.chars().take(PREVIEW_MAX_CHARS - 1).collect();
            Some(format!("{cut}…"))
        }
        Some(line) => Some(line),
        None => attachments.first().map(|a| a.file_name.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ids(n: u128) -> Vec<Uuid> {
        (1..=n).map(Uuid::from_u128).collect()
    }

    #[test]
    fn bulk_accepts_50() {
        assert_eq!(check_bulk(&ids(50)).unwrap().len(), 50);
    }

    #[test]
    fn bulk_rejects_51() {
        assert_eq!(
            check_bulk(&ids(51)),
            Err(AttendanceError::LimitExceeded {
                what: "attendance ids",
                limit: MAX_BULK,
                got: 51
            })
        );
    }

    #[test]
    fn bulk_ignores_duplicates_and_keeps_the_first_order() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(check_bulk(&[b, a, b, a]).unwrap(), vec![b, a]);
        let mut fifty_with_repeats = ids(50);
        fifty_with_repeats.extend(ids(10));
        assert_eq!(check_bulk(&fifty_with_repeats).unwrap().len(), 50);
    }

    #[test]
    fn bulk_rejects_an_empty_list_as_invalid_input() {
        assert!(matches!(
            check_bulk(&[]),
            Err(AttendanceError::Validation(_))
        ));
    }

    #[test]
    fn the_protocol_is_the_local_day_and_a_six_digit_sequence() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        assert_eq!(protocol_number(day, 42), "20261127-000042");
        assert!(protocol_number(day, 999_999).chars().count() <= PROTOCOL_MAX_CHARS);
    }

    #[test]
    fn the_window_is_open_until_just_before_24_hours_and_closed_at_24() {
        let last = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
        assert!(window_open(
            Some(last),
            last + TimeDelta::hours(23) + TimeDelta::minutes(59) + TimeDelta::seconds(59)
        ));
        assert!(!window_open(Some(last), last + TimeDelta::hours(24)));
        assert_eq!(window_closes_at(last), last + TimeDelta::hours(24));
        assert!(!window_open(None, last));
    }

    #[test]
    fn agent_text_is_trimmed_and_bounded() {
        assert_eq!(
            parse_outbound_text("  oi\n tudo bem? ").unwrap(),
            "oi\n tudo bem?"
        );
        assert!(parse_outbound_text("   ").is_err());
        assert!(parse_outbound_text(&"a".repeat(MESSAGE_MAX_CHARS)).is_ok());
        assert!(parse_outbound_text(&"a".repeat(MESSAGE_MAX_CHARS + 1)).is_err());
        assert!(parse_outbound_text("a\0b").is_err());
    }

    #[test]
    fn customer_text_loses_only_nul_characters() {
        assert_eq!(
            parse_inbound_text(Some(" a\0b ")).unwrap().as_deref(),
            Some(" ab ")
        );
        assert_eq!(parse_inbound_text(Some("  ")).unwrap(), None);
    }

    #[test]
    fn the_preview_is_one_line_cut_at_the_limit() {
        assert_eq!(
            preview(Some(" oi\n\ntudo  bem "), &[]).as_deref(),
            Some("oi tudo bem")
        );
        let long = preview(Some(&"a".repeat(PREVIEW_MAX_CHARS + 10)), &[]).unwrap();
        assert_eq!(long.chars().count(), PREVIEW_MAX_CHARS);
        assert!(long.ends_with('…'));
        let file = AttachmentRef {
            attachment_id: Uuid::nil(),
            file_name: "nota.pdf".into(),
            content_type: "application/pdf".into(),
            size: 1,
        };
        assert_eq!(preview(None, &[file]).as_deref(), Some("nota.pdf"));
        assert_eq!(preview(None, &[]), None);
    }
}
