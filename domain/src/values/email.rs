//! E-mail addresses: a pragmatic syntax check, stored trimmed and lowercased.

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// RFC 5321's limit for a whole address in a mail path.
pub const EMAIL_MAX: usize = 254;
/// RFC 5321's limit for the part before `@`.
pub const EMAIL_LOCAL_MAX: usize = 64;
/// RFC 1035's limit for one domain label.
pub const DOMAIN_LABEL_MAX: usize = 63;

/// A syntactically valid e-mail address, lowercased whole: mailboxes are case-insensitive in
/// practice, and one spelling lets search and uniqueness compare plain strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim().to_lowercase();
        let invalid = |why: &str| {
            Err(FieldError::new(
                "",
                format!("is not a valid e-mail address: {why}"),
            ))
        };
        if s.chars().count() > EMAIL_MAX {
            return invalid(&format!("longer than {EMAIL_MAX} characters"));
        }
        let Some((local, domain)) = s.split_once('@') else {
            return invalid("missing @");
        };
        if domain.contains('@') {
            return invalid("more than one @");
        }
        if local.is_empty() || local.chars().count() > EMAIL_LOCAL_MAX {
            return invalid(&format!(
                "the part before @ must have 1 to {EMAIL_LOCAL_MAX} characters"
            ));
        }
        if local.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid("spaces are not allowed");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return invalid("the domain needs a dot");
        }
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= DOMAIN_LABEL_MAX
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if !labels.iter().all(|l| label_ok(l)) {
            return invalid("bad domain");
        }
        let tld = labels[labels.len() - 1];
        if tld.len() < 2 || !tld.bytes().all(|b| b.is_ascii_alphabetic()) {
            return invalid("bad top-level domain");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, FieldError> {
        Self::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse("  Maria.Silva+tag@Example.COM.br ")
                .unwrap()
                .as_str(),
            "maria.silva+tag@example.com.br"
        );
        assert!(Email::parse("a@b-c.io").is_ok());
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for raw in [
            "",
            "maria",
            "@example.com",
            "maria@",
            "maria@example",
            "ma ria@example.com",
            "a@b@example.com",
            "maria@-example.com",
            "maria@example-.com",
            "maria@exa_mple.com",
            "maria@example..com",
            "maria@example.c",
            "maria@example.c0m",
        ] {
            assert_eq!(Email::parse(raw).unwrap_err().field, "", "{raw}");
        }
    }

    #[test]
    fn email_longer_than_the_limits_is_rejected() {
        let local = "a".repeat(EMAIL_LOCAL_MAX + 1);
        assert!(Email::parse(&format!("{local}@example.com")).is_err());
        let long_domain = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        assert!(Email::parse(&format!("x@{long_domain}")).is_err());
    }

    #[test]
    fn email_round_trips_through_serde() {
        let e = Email::parse("x@example.com").unwrap();
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Email>(&json).unwrap(), e);
    }
}
