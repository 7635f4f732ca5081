//! The catalogue's rules: what the Admin Panel may name accounts, services, pause reasons, tags,
//! classifications, templates and integration tokens, which time zones and colours it accepts.
//!
//! Parsers return a [`FieldError`] with an empty field; the use case names the field with
//! [`ValidationErrors::check`](crate::validation::ValidationErrors::check). Template bodies have
//! their own value type, [`TemplateBody`](crate::values::TemplateBody).

use std::str::FromStr;

use chrono_tz::Tz;

use crate::validation::FieldError;
use crate::values::text::required_text;

/// Longest catalogue name (account, service, pause reason, tag, classification, template,
/// integration token): it must fit a menu item or a chip in the panel, and 100 characters is
/// already more than any of them shows.
pub const CATALOGUE_NAME_MAX: usize = 100;

/// The time zone of an account created without one: the contact centers this panel serves
/// work on Brasília time.
pub const DEFAULT_TIMEZONE: &str = "America/Sao_Paulo";

/// Longest template language code: BCP 47 tags as WhatsApp uses them (`pt_BR`, `en_US`,
/// `zh_Hant_HK`) stay well under it.
pub const LANGUAGE_MAX: usize = 20;

/// A catalogue name: trimmed, one line, 1 to [`CATALOGUE_NAME_MAX`] characters.
pub fn parse_name(raw: &str) -> Result<String, FieldError> {
    required_text(raw, CATALOGUE_NAME_MAX)
}

/// An IANA time zone name (`America/Sao_Paulo`), as the account-local day of the counters needs
/// it. Trimmed; spelled exactly as the IANA database does (case matters).
pub fn parse_timezone(raw: &str) -> Result<Tz, FieldError> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(FieldError::new("", "is required"));
    }
    Tz::from_str(t).map_err(|_| {
        FieldError::new(
            "",
            format!("{t:?} is not an IANA time zone name (e.g. {DEFAULT_TIMEZONE})"),
        )
    })
}

/// A tag's optional colour, `#RRGGBB` in hexadecimal (either case, stored as given). Blank or
/// absent means no colour.
pub fn parse_color(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(t) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let ok = t.len() == 7 && t.starts_with('#') && t[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(Some(t.to_string()))
    } else {
        Err(FieldError::new(
            "",
            "must be a colour as #RRGGBB (e.g. #1E90FF)",
        ))
    }
}

/// A template's language code as WhatsApp names it: letters first, then letters, digits, `_` or
/// `-` (`pt_BR`, `en`, `es-419`), at most [`LANGUAGE_MAX`] characters.
pub fn parse_language(raw: &str) -> Result<String, FieldError> {
    let t = required_text(raw, LANGUAGE_MAX)?;
    let ok = t.starts_with(|c: char| c.is_ascii_alphabetic())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(t)
    } else {
        Err(FieldError::new(
            "",
            "must be a language code such as pt_BR or en_US",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  Vendas ").unwrap(), "Vendas");
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"a".repeat(CATALOGUE_NAME_MAX)).is_ok());
        assert!(parse_name(&"a".repeat(CATALOGUE_NAME_MAX + 1)).is_err());
    }

    #[test]
    fn iana_time_zones_are_accepted() {
        assert_eq!(
            parse_timezone(DEFAULT_TIMEZONE).unwrap(),
            Tz::America__Sao_Paulo
        );
        assert_eq!(parse_timezone(" UTC ").unwrap(), Tz::UTC);
        assert!(parse_timezone("Europe/Lisbon").is_ok());
    }

    #[test]
    fn unknown_or_blank_time_zones_are_rejected() {
        for tz in [
            "",
            "  ",
            "Mars/Olympus_Mons",
            "GMT-3:00",
            "america/sao_paulo_x",
        ] {
            assert!(parse_timezone(tz).is_err(), "{tz}");
        }
    }

    #[test]
    fn colours_are_hash_and_six_hex_digits() {
        assert_eq!(
            parse_color(Some("#1e90FF")).unwrap().as_deref(),
            Some("#1e90FF")
        );
        assert_eq!(parse_color(None).unwrap(), None);
        assert_eq!(parse_color(Some("  ")).unwrap(), None);
        for c in ["1E90FF", "#1E90F", "#1E90FF0", "#GGGGGG", "red", "#fff"] {
            assert!(parse_color(Some(c)).is_err(), "{c}");
        }
    }

    #[test]
    fn language_codes_look_like_whatsapp_s() {
        for l in ["pt_BR", "en", "es-419", "zh_Hant_HK"] {
            assert_eq!(parse_language(l).unwrap(), l);
        }
        for l in [
            "",
            "pt BR",
            "_pt",
            "português",
            &"a".repeat(LANGUAGE_MAX + 1),
        ] {
            assert!(parse_language(l).is_err(), "{l}");
        }
    }
}
