//! The Agent aggregate's limits and checks: one place to find each rule.
//!
//! Parsers return a [`FieldError`] with an empty field; the caller names the field with
//! [`crate::validation::ValidationErrors::check`], so the same rule serves registration and update.

use uuid::Uuid;

use super::event::ImageRef;
use crate::kinds::Role;
use crate::validation::FieldError;
use crate::values::text::{required_text, NAME_MAX};

/// Highest `maxConcurrent`: the router never gives one person more attendances in progress than
/// this; beyond it the setting is a typo, not a staffing decision.
pub const MAX_CONCURRENT_LIMIT: u32 = 100;

/// Most services one agent may belong to: bounds the aggregate's state and the router's fan-out.
pub const MAX_SERVICES_PER_AGENT: usize = 100;

/// Shortest password, in characters (NIST SP 800-63B's minimum for user-chosen secrets).
pub const PASSWORD_MIN_CHARS: usize = 8;

/// Longest password, in characters: long passphrases fit, while hashing cost stays bounded.
pub const PASSWORD_MAX_CHARS: usize = 128;

/// Largest agent image, in bytes: the contract's `changeImage` promises at most 5 MiB.
pub const IMAGE_MAX_BYTES: u64 = 5 * 1024 * 1024;

/// Image types the panel can show in every browser (the contract: PNG, JPEG or WebP).
pub const IMAGE_CONTENT_TYPES: &[&str] = &["image/png", "image/jpeg", "image/webp"];

/// A trimmed name of 1 to [`NAME_MAX`] characters, one line.
pub fn parse_name(raw: &str) -> Result<String, FieldError> {
    required_text(raw, NAME_MAX)
}

/// The password policy, checked by the use case on the raw password before hashing it (the
/// command then carries only the hash): [`PASSWORD_MIN_CHARS`] to [`PASSWORD_MAX_CHARS`]
/// characters, not only blanks.
pub fn check_password_policy(raw: &str) -> Result<(), FieldError> {
    let len = raw.chars().count();
    if len < PASSWORD_MIN_CHARS || raw.trim().is_empty() {
        return Err(FieldError::new(
            "",
            format!("must be at least {PASSWORD_MIN_CHARS} characters"),
        ));
    }
    if len > PASSWORD_MAX_CHARS {
        return Err(FieldError::new(
            "",
            format!("must be at most {PASSWORD_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

/// 1 to [`MAX_CONCURRENT_LIMIT`]: zero would make an agent who can never be routed anything.
pub fn check_max_concurrent(n: u32) -> Result<u32, FieldError> {
    if (1..=MAX_CONCURRENT_LIMIT).contains(&n) {
        Ok(n)
    } else {
        Err(FieldError::new(
            "",
            format!("must be between 1 and {MAX_CONCURRENT_LIMIT}"),
        ))
    }
}

/// Agents are people: `INTEGRATION` is a token's role, never an agent's.
pub fn check_role(role: Role) -> Result<Role, FieldError> {
    if role == Role::Integration {
        Err(FieldError::new(
            "",
            "an agent cannot have the INTEGRATION role",
        ))
    } else {
        Ok(role)
    }
}

/// Sorted and without duplicates, so that comparing two lists tells whether membership changed.
pub fn normalize_service_ids(ids: &[Uuid]) -> Result<Vec<Uuid>, FieldError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() > MAX_SERVICES_PER_AGENT {
        return Err(FieldError::new(
            "",
            format!("must name at most {MAX_SERVICES_PER_AGENT} services"),
        ));
    }
    Ok(ids)
}

/// A known image type with a well-formed hash. The size limit is checked apart, since it is refused
/// as LIMIT_EXCEEDED rather than VALIDATION.
pub fn check_image(image: &ImageRef) -> Result<(), FieldError> {
    if !IMAGE_CONTENT_TYPES.contains(&image.content_type.as_str()) {
        return Err(FieldError::new("", "must be a PNG, JPEG or WebP image"));
    }
    let hash_ok = image.sha256.len() == 64
        && image
            .sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !hash_ok || image.size == 0 {
        return Err(FieldError::new("", "is not a stored upload"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_trimmed_and_must_not_be_blank() {
        assert_eq!(parse_name("  Ana Souza ").unwrap(), "Ana Souza");
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"a".repeat(NAME_MAX)).is_ok());
        assert!(parse_name(&"a".repeat(NAME_MAX + 1)).is_err());
    }

    #[test]
    fn a_password_needs_8_to_128_characters() {
        assert!(check_password_policy("1234567").is_err());
        assert!(check_password_policy("12345678").is_ok());
        assert!(check_password_policy("        ").is_err());
        assert!(check_password_policy(&"x".repeat(PASSWORD_MAX_CHARS)).is_ok());
        assert!(check_password_policy(&"x".repeat(PASSWORD_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn max_concurrent_is_between_1_and_the_limit() {
        assert!(check_max_concurrent(0).is_err());
        assert!(check_max_concurrent(1).is_ok());
        assert!(check_max_concurrent(MAX_CONCURRENT_LIMIT).is_ok());
        assert!(check_max_concurrent(MAX_CONCURRENT_LIMIT + 1).is_err());
    }

    #[test]
    fn service_ids_are_sorted_and_deduplicated() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(normalize_service_ids(&[b, a, b]).unwrap(), vec![a, b]);
    }
}
