//! UF: the 27 Brazilian federative units (26 states and the Federal District).

use crate::kinds::closed_set;
use crate::validation::FieldError;

closed_set!(
    /// A Brazilian state, by its two-letter code, in the contract's order.
    Uf {
        Ac => "AC", Al => "AL", Ap => "AP", Am => "AM", Ba => "BA", Ce => "CE", Df => "DF",
        Es => "ES", Go => "GO", Ma => "MA", Mt => "MT", Ms => "MS", Mg => "MG", Pa => "PA",
        Pb => "PB", Pr => "PR", Pe => "PE", Pi => "PI", Rj => "RJ", Rn => "RN", Rs => "RS",
        Ro => "RO", Rr => "RR", Sc => "SC", Sp => "SP", Se => "SE", To => "TO",
    }
);

impl Uf {
    /// Parses free input case-insensitively (`sp`, ` Sp `). [`Uf::parse`] takes only the stored
    /// and API spelling.
    pub fn parse_input(s: &str) -> Result<Self, FieldError> {
        Self::parse(&s.trim().to_ascii_uppercase()).ok_or_else(|| {
            FieldError::new("", "must be one of the 27 Brazilian state codes, e.g. SP")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_27_ufs_and_each_round_trips() {
        assert_eq!(Uf::ALL.len(), 27);
        for uf in Uf::ALL {
            assert_eq!(Uf::parse(uf.as_str()), Some(*uf));
            let json = serde_json::to_string(uf).unwrap();
            assert_eq!(json, format!("\"{}\"", uf.as_str()));
            assert_eq!(serde_json::from_str::<Uf>(&json).unwrap(), *uf);
        }
    }

    #[test]
    fn uf_input_is_case_insensitive() {
        assert_eq!(Uf::parse_input(" sp ").unwrap(), Uf::Sp);
        assert_eq!(Uf::parse_input("Df").unwrap(), Uf::Df);
    }

    #[test]
    fn unknown_uf_is_rejected() {
        assert!(Uf::parse_input("XX").is_err());
        assert!(Uf::parse_input("").is_err());
        assert!(Uf::parse_input("SPP").is_err());
    }
}
