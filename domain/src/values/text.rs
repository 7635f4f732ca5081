//! Free text fields: trimmed, bounded, and free of control characters.
//!
//! Control characters are refused because PostgreSQL cannot store `\0` in `text` or `jsonb` (the
//! event payload), and a line break has no place in a one-line field of the panel.

use crate::validation::FieldError;

/// Names (a contact's, a mother's): long enough for any real full name.
pub const NAME_MAX: usize = 200;
/// Short codes and identifiers typed by hand: RG, registration number, address number and
/// complement, neighbourhood, city.
pub const SHORT_TEXT_MAX: usize = 100;
/// Longer one-line texts: street, reference, reference point, extra fields 1-3.
pub const LONG_TEXT_MAX: usize = 500;

/// A text that must be given: trimmed, non-empty, at most `max` characters.
pub fn required_text(s: &str, max: usize) -> Result<String, FieldError> {
    match optional_text(Some(s), max)? {
        Some(t) => Ok(t),
        None => Err(FieldError::new("", "is required")),
    }
}

/// A text that may be left out: trimmed; empty (or only spaces) means not given.
pub fn optional_text(s: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    let Some(t) = s.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if t.chars().count() > max {
        return Err(FieldError::new(
            "",
            format!("must be at most {max} characters"),
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(FieldError::new(
            "",
            "must not contain line breaks, tabs or control characters",
        ));
    }
    Ok(Some(t.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_is_trimmed() {
        assert_eq!(required_text("  Maria  ", NAME_MAX).unwrap(), "Maria");
    }

    #[test]
    fn required_text_that_is_blank_is_rejected() {
        assert_eq!(
            required_text("   ", NAME_MAX).unwrap_err().message,
            "is required"
        );
    }

    #[test]
    fn text_longer_than_its_limit_is_rejected_counting_characters_not_bytes() {
        let at_limit = "ç".repeat(NAME_MAX);
        assert!(required_text(&at_limit, NAME_MAX).is_ok());
        assert!(required_text(&format!("{at_limit}a"), NAME_MAX).is_err());
    }

    #[test]
    fn text_with_control_characters_is_rejected() {
        assert!(required_text("a\u{0}b", NAME_MAX).is_err());
        assert!(optional_text(Some("line\nbreak"), LONG_TEXT_MAX).is_err());
    }

    #[test]
    fn optional_text_that_is_blank_or_absent_is_none() {
        assert_eq!(optional_text(None, SHORT_TEXT_MAX).unwrap(), None);
        assert_eq!(optional_text(Some("  "), SHORT_TEXT_MAX).unwrap(), None);
        assert_eq!(
            optional_text(Some(" 12 "), SHORT_TEXT_MAX).unwrap(),
            Some("12".into())
        );
    }
}
