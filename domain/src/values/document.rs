//! CPF and CNPJ: Brazilian person and company tax ids, with their check digits verified.
//!
//! The CNPJ follows the alphanumeric rule in force from July 2026: the first 12 positions may be
//! `0-9` or `A-Z`, each worth its ASCII code minus 48, and the last 2 are numeric check digits.
//! A numeric CNPJ is the special case where every position is a digit.

use serde::{Deserialize, Serialize};

use super::strip_separators;
use crate::kinds::closed_set;
use crate::validation::FieldError;

/// Digits in a CPF, check digits included.
pub const CPF_LEN: usize = 11;
/// Characters in a CNPJ, check digits included.
pub const CNPJ_LEN: usize = 14;

closed_set!(
    /// Whether a document is a person's (CPF) or a company's (CNPJ) tax id.
    DocumentKind { Cpf => "CPF", Cnpj => "CNPJ" }
);

/// A CPF or CNPJ with valid check digits, stored normalised: the 11 digits of a CPF or the 14
/// uppercase characters of a CNPJ, without punctuation. The kind follows from the length.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Document {
    kind: DocumentKind,
    value: String,
}

impl Document {
    /// Parses a CPF or CNPJ written with or without punctuation (`.`, `-`, `/`, spaces);
    /// lowercase letters are uppercased.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let value = strip_separators(s).to_ascii_uppercase();
        if value.is_empty() {
            return Err(FieldError::new("", "must not be empty"));
        }
        match value.len() {
            CPF_LEN if value.bytes().all(|b| b.is_ascii_digit()) => parse_cpf(value),
            CNPJ_LEN => parse_cnpj(value),
            _ => Err(FieldError::new(
                "",
                "must be a CPF (11 digits) or a CNPJ (14 characters)",
            )),
        }
    }

    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    /// The normalised value: 11 digits or 14 uppercase characters.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// `123.456.789-09` or `12.ABC.345/01DE-35`.
    pub fn formatted(&self) -> String {
        let v = &self.value;
        match self.kind {
            DocumentKind::Cpf => format!("{}.{}.{}-{}", &v[0..3], &v[3..6], &v[6..9], &v[9..11]),
            DocumentKind::Cnpj => {
                format!(
                    "{}.{}.{}/{}-{}",
                    &v[0..2],
                    &v[2..5],
                    &v[5..8],
                    &v[8..12],
                    &v[12..14]
                )
            }
        }
    }
}

fn all_same(value: &str) -> bool {
    let first = value.as_bytes()[0];
    value.bytes().all(|b| b == first)
}

/// `0` when the remainder is below 2, else `11 - remainder`: the rule shared by CPF and CNPJ.
fn check_digit(sum: u32) -> u32 {
    let r = sum % 11;
    if r < 2 {
        0
    } else {
        11 - r
    }
}

fn parse_cpf(value: String) -> Result<Document, FieldError> {
    if all_same(&value) {
        return Err(FieldError::new("", "is not a valid CPF"));
    }
    let d: Vec<u32> = value.bytes().map(|b| u32::from(b - b'0')).collect();
    // Weights 10..2 over the first 9 digits, then 11..2 over the first 10.
    let sum = |n: usize| -> u32 { (0..n).map(|i| d[i] * (n as u32 + 1 - i as u32)).sum() };
    if check_digit(sum(9)) != d[9] || check_digit(sum(10)) != d[10] {
        return Err(FieldError::new(
            "",
            "is not a valid CPF: wrong check digits",
        ));
    }
    Ok(Document {
        kind: DocumentKind::Cpf,
        value,
    })
}

/// Weights 2..9 repeating from the rightmost position, over values `ASCII - 48`.
fn cnpj_check_digit(values: &[u32]) -> u32 {
    let sum = values
        .iter()
        .rev()
        .enumerate()
        .map(|(i, v)| v * (2 + (i as u32 % 8)))
        .sum();
    check_digit(sum)
}

fn parse_cnpj(value: String) -> Result<Document, FieldError> {
    let bytes = value.as_bytes();
    let base_ok = bytes[..12]
        .iter()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    let dv_ok = bytes[12..].iter().all(u8::is_ascii_digit);
    if !base_ok || !dv_ok {
        return Err(FieldError::new(
            "",
            "is not a valid CNPJ: the first 12 characters must be digits or letters and the last 2 digits",
        ));
    }
    if all_same(&value) {
        return Err(FieldError::new("", "is not a valid CNPJ"));
    }
    let mut values: Vec<u32> = bytes.iter().map(|&b| u32::from(b - b'0')).collect();
    let given = (values[12], values[13]);
    values.truncate(12);
    let d1 = cnpj_check_digit(&values);
    values.push(d1);
    let d2 = cnpj_check_digit(&values);
    if (d1, d2) != given {
        return Err(FieldError::new(
            "",
            "is not a valid CNPJ: wrong check digits",
        ));
    }
    Ok(Document {
        kind: DocumentKind::Cnpj,
        value,
    })
}

impl TryFrom<String> for Document {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, FieldError> {
        Self::parse(&s)
    }
}

impl From<Document> for String {
    fn from(d: Document) -> String {
        d.value
    }
}

impl std::fmt::Display for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.formatted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpf_with_or_without_punctuation_is_normalised() {
        for raw in ["529.982.247-25", "52998224725", " 529 982 247 25 "] {
            let d = Document::parse(raw).unwrap();
            assert_eq!(d.kind(), DocumentKind::Cpf);
            assert_eq!(d.value(), "52998224725");
            assert_eq!(d.formatted(), "529.982.247-25");
        }
        assert_eq!(
            Document::parse("111.444.777-35").unwrap().value(),
            "11144477735"
        );
    }

    #[test]
    fn cpf_with_wrong_check_digit_is_rejected() {
        assert!(Document::parse("529.982.247-26").is_err());
        assert!(Document::parse("529.982.247-15").is_err());
    }

    #[test]
    fn cpf_of_one_repeated_digit_is_rejected() {
        // 111.111.111-11 passes the check-digit arithmetic but is no real CPF.
        assert!(Document::parse("111.111.111-11").is_err());
        assert!(Document::parse("00000000000").is_err());
    }

    #[test]
    fn numeric_cnpj_is_accepted_and_formatted() {
        let d = Document::parse("11.222.333/0001-81").unwrap();
        assert_eq!(d.kind(), DocumentKind::Cnpj);
        assert_eq!(d.value(), "11222333000181");
        assert_eq!(d.formatted(), "11.222.333/0001-81");
    }

    #[test]
    fn alphanumeric_cnpj_is_accepted_and_lowercase_is_uppercased() {
        for raw in ["12ABC34501DE35", "12.abc.345/01de-35"] {
            let d = Document::parse(raw).unwrap();
            assert_eq!(d.kind(), DocumentKind::Cnpj);
            assert_eq!(d.value(), "12ABC34501DE35");
            assert_eq!(d.formatted(), "12.ABC.345/01DE-35");
        }
        assert!(Document::parse("ABCDEFGHIJKL80").is_ok());
    }

    #[test]
    fn cnpj_with_wrong_check_digit_is_rejected() {
        assert!(Document::parse("11.222.333/0001-82").is_err());
        assert!(Document::parse("12ABC34501DE36").is_err());
    }

    #[test]
    fn cnpj_with_letters_in_the_check_digits_is_rejected() {
        assert!(Document::parse("12ABC34501DE3A").is_err());
    }

    #[test]
    fn cnpj_of_one_repeated_character_is_rejected() {
        assert!(Document::parse("00000000000000").is_err());
        assert!(Document::parse("11111111111111").is_err());
    }

    #[test]
    fn wrong_length_or_symbols_are_rejected() {
        for raw in [
            "",
            "  ",
            "1234567890",
            "123456789012",
            "529982247251",
            "5299822472A",
            "11222333000181#",
        ] {
            let e = Document::parse(raw).unwrap_err();
            assert_eq!(e.field, "", "{raw}");
        }
    }

    #[test]
    fn document_round_trips_through_serde_as_its_normalised_value() {
        let d = Document::parse("12.abc.345/01de-35").unwrap();
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, "\"12ABC34501DE35\"");
        assert_eq!(serde_json::from_str::<Document>(&json).unwrap(), d);
        assert!(serde_json::from_str::<Document>("\"52998224726\"").is_err());
        assert_eq!(
            serde_json::to_string(&DocumentKind::Cnpj).unwrap(),
            "\"CNPJ\""
        );
    }
}
