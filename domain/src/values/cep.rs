//! CEP: the Brazilian postal code, 8 digits.

use serde::{Deserialize, Serialize};

use super::strip_separators;
use crate::validation::FieldError;

/// Digits in a CEP.
pub const CEP_LEN: usize = 8;

/// A CEP stored as its 8 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cep(String);

impl Cep {
    /// Accepts `01310-100`, `01.310-100` or `01310100`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let digits = strip_separators(s);
        if digits.len() != CEP_LEN || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new("", "must be 8 digits, e.g. 01310-100"));
        }
        Ok(Self(digits))
    }

    /// The 8 digits: `01310100`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `01310-100`.
    pub fn formatted(&self) -> String {
        format!("{}-{}", &self.0[..5], &self.0[5..])
    }
}

impl TryFrom<String> for Cep {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, FieldError> {
        Self::parse(&s)
    }
}

impl From<Cep> for String {
    fn from(c: Cep) -> String {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cep_with_or_without_dash_is_stored_as_digits() {
        for raw in ["01310-100", "01310100", "01.310-100", " 01310 100 "] {
            let c = Cep::parse(raw).unwrap();
            assert_eq!(c.as_str(), "01310100");
            assert_eq!(c.formatted(), "01310-100");
        }
    }

    #[test]
    fn cep_of_wrong_length_or_with_letters_is_rejected() {
        for raw in ["", "0131010", "013101000", "01310-10A"] {
            assert_eq!(Cep::parse(raw).unwrap_err().field, "", "{raw}");
        }
    }

    #[test]
    fn cep_round_trips_through_serde() {
        let c = Cep::parse("01310-100").unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "\"01310100\"");
        assert_eq!(serde_json::from_str::<Cep>(&json).unwrap(), c);
    }
}
