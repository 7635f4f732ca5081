//! Chat between agents (item 8): the pure rules of one message — who may write to whom, text
//! limits, at least one of text or attachments, attachment count, size and name — and how an
//! attachment's content type is decided from its bytes, never from the client's word.
//!
//! A chat message is a plain record, not an aggregate: it has no life cycle beyond being read
//! and deleted by its sender, and no business decision depends on its history.

use uuid::Uuid;

use crate::validation::{FieldError, ValidationErrors};

/// Longest chat text, in characters: the same bound as a message to a customer, so a text can be
/// pasted from one to the other.
pub const TEXT_MAX_CHARS: usize = 4096;

/// Most files in one chat message (issue: up to 10): more is a batch upload, not a conversation.
pub const MAX_ATTACHMENTS: usize = 10;

/// Largest chat attachment (issue: 20 MiB): screenshots and documents, not videos.
pub const ATTACHMENT_MAX_BYTES: usize = 20 * 1024 * 1024;

/// Longest attachment file name, in characters (the common file-system limit); longer names are
/// cut, not refused, since the name is only a label.
pub const FILE_NAME_MAX_CHARS: usize = 255;

/// The name an attachment gets when the client sent none usable.
pub const DEFAULT_FILE_NAME: &str = "file";

/// The content type of anything not recognised: browsers download it instead of rendering it.
pub const UNKNOWN_CONTENT_TYPE: &str = "application/octet-stream";

/// Why a chat message is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// Bad input: no text nor attachment, text too long, writing to oneself, unknown recipient.
    #[error("{0}")]
    Invalid(ValidationErrors),
    /// More files, or a larger file, than allowed.
    #[error("at most {limit} {what} (got {got})")]
    LimitExceeded {
        what: &'static str,
        limit: usize,
        got: usize,
    },
}

impl From<FieldError> for ChatError {
    fn from(e: FieldError) -> Self {
        Self::Invalid(e.into())
    }
}

/// The recipient as the sender's use case found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// No agent has this id.
    Unknown,
    /// A deactivated agent.
    Inactive,
    Active,
}

/// One may write to an existing, active agent other than oneself.
pub fn check_recipient(from: Uuid, to: Uuid, recipient: Recipient) -> Result<(), ChatError> {
    let message = match recipient {
        _ if from == to => "must be another agent",
        Recipient::Unknown => "names no agent",
        Recipient::Inactive => "names an inactive agent",
        Recipient::Active => return Ok(()),
    };
    Err(FieldError::new("toAgentId", message).into())
}

/// The text of a message: trimmed; blank means none; at most [`TEXT_MAX_CHARS`] characters;
/// line breaks and tabs allowed but no other control character (PostgreSQL cannot store `\0`).
pub fn parse_text(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > TEXT_MAX_CHARS {
        return Err(FieldError::new(
            "text",
            format!("must be at most {TEXT_MAX_CHARS} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(FieldError::new(
            "text",
            "must not contain control characters",
        ));
    }
    Ok(Some(text.to_string()))
}

/// At most `max_files` attachments (never more than [`MAX_ATTACHMENTS`]).
pub fn check_attachment_count(count: usize, max_files: usize) -> Result<(), ChatError> {
    let limit = max_files.min(MAX_ATTACHMENTS);
    if count > limit {
        return Err(ChatError::LimitExceeded {
            what: "attachments",
            limit,
            got: count,
        });
    }
    Ok(())
}

/// Each attachment at most `max_bytes` (never more than [`ATTACHMENT_MAX_BYTES`]).
pub fn check_attachment_size(size: usize, max_bytes: usize) -> Result<(), ChatError> {
    let limit = max_bytes.min(ATTACHMENT_MAX_BYTES);
    if size > limit {
        return Err(ChatError::LimitExceeded {
            what: "bytes per attachment",
            limit,
            got: size,
        });
    }
    Ok(())
}

/// A message says something: text, attachments, or both.
pub fn check_not_empty(text: &Option<String>, attachments: usize) -> Result<(), ChatError> {
    if text.is_none() && attachments == 0 {
        return Err(FieldError::new("text", "a message needs a text or an attachment").into());
    }
    Ok(())
}

/// The file name shown for an attachment: its last path component (browsers may send a full
/// path), without control characters, cut to [`FILE_NAME_MAX_CHARS`]; [`DEFAULT_FILE_NAME`]
/// when nothing is left.
pub fn file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(FILE_NAME_MAX_CHARS)
        .collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." {
        DEFAULT_FILE_NAME.to_string()
    } else {
        clean.to_string()
    }
}

/// The content type of an attachment, from its first bytes: an image the panel shows inline
/// (screenshots), a PDF, or [`UNKNOWN_CONTENT_TYPE`].
pub fn sniff_content_type(bytes: &[u8]) -> &'static str {
    if let Some(image) = crate::files::sniff_image(bytes) {
        image
    } else if bytes.starts_with(b"%PDF-") {
        "application/pdf"
    } else {
        UNKNOWN_CONTENT_TYPE
    }
}

/// Whether a content type is an image a browser may render inline (anything else is served as
/// a download, so an uploaded page cannot run in the panel's origin).
pub fn is_inline_image(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/webp" | "image/gif"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_needs_text_or_an_attachment() {
        assert!(check_not_empty(&None, 0).is_err());
        assert!(check_not_empty(&Some("oi".into()), 0).is_ok());
        assert!(check_not_empty(&None, 1).is_ok());
    }

    #[test]
    fn blank_text_is_no_text() {
        assert_eq!(parse_text(Some("  \n ")), Ok(None));
        assert_eq!(parse_text(None), Ok(None));
        assert_eq!(
            parse_text(Some(" oi\ntudo bem? ")),
            Ok(Some("oi\ntudo bem?".into()))
        );
    }

    #[test]
    fn text_accepts_4096_characters_and_rejects_4097() {
        assert!(parse_text(Some(&"é".repeat(TEXT_MAX_CHARS))).is_ok());
        assert!(parse_text(Some(&"é".repeat(TEXT_MAX_CHARS + 1))).is_err());
    }

    #[test]
    fn text_rejects_control_characters() {
        assert!(parse_text(Some("a\0b")).is_err());
        assert!(parse_text(Some("a\tb")).is_ok());
    }

    #[test]
    fn attachments_accept_10_and_reject_11() {
        assert!(check_attachment_count(MAX_ATTACHMENTS, 100).is_ok());
        assert_eq!(
            check_attachment_count(MAX_ATTACHMENTS + 1, 100),
            Err(ChatError::LimitExceeded {
                what: "attachments",
                limit: 10,
                got: 11
            })
        );
        assert!(check_attachment_count(3, 2).is_err());
    }

    #[test]
    fn attachments_accept_20_mib_and_reject_one_byte_more() {
        assert!(check_attachment_size(ATTACHMENT_MAX_BYTES, usize::MAX).is_ok());
        assert!(check_attachment_size(ATTACHMENT_MAX_BYTES + 1, usize::MAX).is_err());
        assert!(check_attachment_size(11, 10).is_err());
    }

    #[test]
    fn one_writes_only_to_another_active_agent() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(check_recipient(a, b, Recipient::Active).is_ok());
        assert!(check_recipient(a, a, Recipient::Active).is_err());
        assert!(check_recipient(a, b, Recipient::Unknown).is_err());
        assert!(check_recipient(a, b, Recipient::Inactive).is_err());
    }

    #[test]
    fn file_names_keep_only_their_last_component() {
        assert_eq!(file_name("C:\\Users\\ana\\print.png"), "print.png");
        assert_eq!(file_name("../../etc/passwd"), "passwd");
        assert_eq!(file_name("a\u{7}b.txt"), "ab.txt");
        assert_eq!(file_name("  "), DEFAULT_FILE_NAME);
        assert_eq!(file_name("dir/"), DEFAULT_FILE_NAME);
        assert_eq!(
            file_name(&"x".repeat(300)).chars().count(),
            FILE_NAME_MAX_CHARS
        );
    }

    #[test]
    fn content_types_come_from_the_bytes() {
        assert_eq!(sniff_content_type(b"\x89PNG\r\n\x1a\nrest"), "image/png");
        assert_eq!(sniff_content_type(b"%PDF-1.7"), "application/pdf");
        assert_eq!(
            sniff_content_type(b"<svg onload=alert(1)>"),
            UNKNOWN_CONTENT_TYPE
        );
        assert_eq!(sniff_content_type(b""), UNKNOWN_CONTENT_TYPE);
    }
}
