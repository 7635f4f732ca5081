//! Phone numbers in E.164, with Brazil's numbering rules and the routing key that lets a mobile
//! written with or without its ninth digit find the same contact.

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// E.164 allows at most 15 digits, country code included.
pub const E164_MAX_DIGITS: usize = 15;
/// Shortest national number accepted outside Brazil: some small countries use 4-digit numbers.
pub const NATIONAL_MIN_DIGITS: usize = 4;
/// Longest national number accepted outside Brazil (E.164's 15 minus a 1-digit country code).
pub const NATIONAL_MAX_DIGITS: usize = 14;
/// Brazil's country calling code.
pub const BRAZIL_DDI: &str = "55";

/// Two-digit country calling codes. With `1` and `7` (one digit) every other code is three digits:
/// the ITU assigns codes so that none is a prefix of another, which lets an E.164 string be split
/// into country code and national number without a full table of countries.
const TWO_DIGIT_DDIS: &[&str] = &[
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47",
    "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65",
    "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];

/// How many leading digits of an international number are its country calling code.
fn ddi_len(digits: &str) -> usize {
    match digits.as_bytes().first() {
        Some(b'1' | b'7') => 1,
        _ if digits.len() >= 2 && TWO_DIGIT_DDIS.contains(&&digits[..2]) => 2,
        _ => 3,
    }
}

/// What a Brazilian national number (after the area code) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BrKind {
    /// 8 digits starting 2-5.
    Landline,
    /// 9 digits starting with 9.
    Mobile,
    /// 8 digits starting 6-9: a mobile written without the ninth digit (the pre-2016 form).
    MobileWithoutNinthDigit,
}

fn br_kind(subscriber: &str) -> Option<BrKind> {
    let first = subscriber.as_bytes().first()?;
    match (subscriber.len(), first) {
        (8, b'2'..=b'5') => Some(BrKind::Landline),
        (8, b'6'..=b'9') => Some(BrKind::MobileWithoutNinthDigit),
        (9, b'9') => Some(BrKind::Mobile),
        _ => None,
    }
}

/// A valid phone number, stored as E.164 (`+5511987654321`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone {
    e164: String,
    ddi_len: usize,
}

impl Phone {
    /// Parses the two fields of the contract's `PhoneInput`: a DDI of 1-3 digits (a leading `+`
    /// allowed) and a national number with any punctuation or spaces. Errors name the sub-field
    /// (`ddi` or `number`), so under `phone` they read `phone.number`.
    pub fn parse(ddi: &str, number: &str) -> Result<Self, FieldError> {
        let ddi = ddi.trim();
        let ddi = ddi.strip_prefix('+').unwrap_or(ddi);
        if ddi.is_empty() || ddi.len() > 3 || !ddi.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new("ddi", "must be 1 to 3 digits"));
        }
        if ddi.starts_with('0') || ddi_len(ddi) != ddi.len() {
            return Err(FieldError::new("ddi", "is not a country calling code"));
        }
        let national: String = number
            .chars()
            .filter(|c| !matches!(c, '(' | ')' | '-' | '.' | '/') && !c.is_whitespace())
            .collect();
        if national.is_empty() {
            return Err(FieldError::new("number", "must not be empty"));
        }
        if !national.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(
                "number",
                "must contain only digits and punctuation",
            ));
        }
        check_national(ddi, &national).map_err(|m| FieldError::new("number", m))?;
        Ok(Self {
            e164: format!("+{ddi}{national}"),
            ddi_len: ddi.len(),
        })
    }

    /// Parses an E.164 string such as `+5511987654321` (the `+` is required; spaces and
    /// punctuation are tolerated).
    pub fn parse_e164(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        let Some(rest) = s.strip_prefix('+') else {
            return Err(FieldError::new(
                "",
                "must be in E.164 form, starting with +",
            ));
        };
        let digits: String = rest
            .chars()
            .filter(|c| !matches!(c, '(' | ')' | '-' | '.') && !c.is_whitespace())
            .collect();
        if digits.len() < 2
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(FieldError::new("", "must be in E.164 form: + and digits"));
        }
        let n = ddi_len(&digits).min(digits.len() - 1);
        Self::parse(&digits[..n], &digits[n..]).map_err(|e| FieldError::new("", e.message))
    }

    /// `+5511987654321`.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// The country calling code without `+`: `55`.
    pub fn ddi(&self) -> &str {
        &self.e164[1..=self.ddi_len]
    }

    /// The national number's digits, area code included: `11987654321`.
    pub fn number(&self) -> &str {
        &self.e164[1 + self.ddi_len..]
    }

    fn br_kind(&self) -> Option<BrKind> {
        (self.ddi() == BRAZIL_DDI)
            .then(|| br_kind(&self.number()[2..]))
            .flatten()
    }

    /// A Brazilian mobile written without its ninth digit (`+551187654321`): kept as given, but
    /// worth showing to the agent, since WhatsApp may know it under the nine-digit form.
    pub fn lacks_ninth_digit(&self) -> bool {
        self.br_kind() == Some(BrKind::MobileWithoutNinthDigit)
    }

    /// `+55 (11) 98765-4321`, `+55 (11) 3456-7890`; other countries `+DDI NUMBER`.
    pub fn formatted(&self) -> String {
        let n = self.number();
        match self.br_kind() {
            Some(_) => {
                let (area, sub) = n.split_at(2);
                let (a, b) = sub.split_at(sub.len() - 4);
                format!("+{BRAZIL_DDI} ({area}) {a}-{b}")
            }
            None => format!("+{} {n}", self.ddi()),
        }
    }

    /// The key an inbound message is routed by: two phones with the same key are the same
    /// contact within an account.
    ///
    /// For a Brazilian mobile it is the form **without** the ninth digit (`55` + area code + the
    /// last 8 digits), because Brazil added the ninth digit to mobiles between 2012 and 2016 and
    /// WhatsApp still reports many old accounts without it: `+5511987654321` and `+551187654321`
    /// both give `551187654321`. For every other phone it is the E.164 digits without `+`.
    pub fn routing_key(&self) -> String {
        match self.br_kind() {
            Some(BrKind::Mobile | BrKind::MobileWithoutNinthDigit) => {
                let n = self.number();
                format!("{BRAZIL_DDI}{}{}", &n[..2], &n[n.len() - 8..])
            }
            _ => self.e164[1..].to_string(),
        }
    }
}

/// The length and prefix rules of a national number, per country.
fn check_national(ddi: &str, national: &str) -> Result<(), String> {
    if ddi == BRAZIL_DDI {
        let (area, subscriber) = national.split_at(national.len().min(2));
        if area.len() < 2 || area.bytes().any(|b| b == b'0') {
            return Err("must start with a 2-digit area code from 11 to 99".into());
        }
        if br_kind(subscriber).is_none() {
            return Err("must be the area code and a landline of 8 digits starting 2-5 or a mobile of 9 digits \
                 starting with 9"
                .into());
        }
        return Ok(());
    }
    if national.len() < NATIONAL_MIN_DIGITS || national.len() > NATIONAL_MAX_DIGITS {
        return Err(format!(
            "must have {NATIONAL_MIN_DIGITS} to {NATIONAL_MAX_DIGITS} digits"
        ));
    }
    if ddi.len() + national.len() > E164_MAX_DIGITS {
        return Err(format!(
            "is too long: E.164 allows {E164_MAX_DIGITS} digits with the country code"
        ));
    }
    Ok(())
}

impl TryFrom<String> for Phone {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, FieldError> {
        Self::parse_e164(&s)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.e164
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.e164)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brazilian_mobile_with_punctuation_is_stored_as_e164() {
        let p = Phone::parse("+55", "(11) 98765-4321").unwrap();
        assert_eq!(p.e164(), "+5511987654321");
        assert_eq!(p.ddi(), "55");
        assert_eq!(p.number(), "11987654321");
        assert_eq!(p.formatted(), "+55 (11) 98765-4321");
        assert!(!p.lacks_ninth_digit());
    }

    #[test]
    fn brazilian_landline_is_accepted_and_formatted() {
        let p = Phone::parse("55", "11 3456 7890").unwrap();
        assert_eq!(p.e164(), "+551134567890");
        assert_eq!(p.formatted(), "+55 (11) 3456-7890");
        assert_eq!(p.routing_key(), "551134567890");
    }

    #[test]
    fn brazilian_mobile_without_ninth_digit_is_kept_and_flagged() {
        let p = Phone::parse("55", "11 8765-4321").unwrap();
        assert_eq!(p.e164(), "+551187654321");
        assert!(p.lacks_ninth_digit());
        assert_eq!(p.formatted(), "+55 (11) 8765-4321");
    }

    #[test]
    fn brazilian_mobile_with_and_without_ninth_digit_share_a_routing_key() {
        let nine = Phone::parse_e164("+5511987654321").unwrap();
        let eight = Phone::parse_e164("+551187654321").unwrap();
        assert_eq!(nine.routing_key(), "551187654321");
        assert_eq!(nine.routing_key(), eight.routing_key());
        assert_ne!(nine, eight);
    }

    #[test]
    fn brazilian_numbers_of_wrong_shape_are_rejected_on_the_number_field() {
        for n in [
            "0119876543",
            "10987654321",
            "11098765432",
            "118765432",
            "119876543210",
            "11187654321",
            "1112345678",
        ] {
            let e = Phone::parse("55", n).unwrap_err();
            assert_eq!(e.field, "number", "{n}");
        }
    }

    #[test]
    fn letters_in_the_number_are_rejected() {
        assert_eq!(
            Phone::parse("55", "11 9876A-4321").unwrap_err().field,
            "number"
        );
        assert_eq!(Phone::parse("55", " ").unwrap_err().field, "number");
    }

    #[test]
    fn bad_ddi_is_rejected_on_the_ddi_field() {
        for d in ["", "+", "1234", "5a", "05", "12", "5"] {
            assert_eq!(
                Phone::parse(d, "2025550123").unwrap_err().field,
                "ddi",
                "{d}"
            );
        }
    }

    #[test]
    fn other_countries_accept_4_to_14_digits_within_15_in_total() {
        let us = Phone::parse("1", "(202) 555-0123").unwrap();
        assert_eq!(us.e164(), "+12025550123");
        assert_eq!(us.formatted(), "+1 2025550123");
        assert_eq!(us.routing_key(), "12025550123");
        assert!(Phone::parse("351", "1234").is_ok());
        assert!(Phone::parse("351", "123").is_err());
        assert!(Phone::parse("1", "12345678901234").is_ok());
        assert!(Phone::parse("351", "123456789012345").is_err());
        assert!(
            Phone::parse("351", "1234567890123").is_err(),
            "16 digits in total"
        );
    }

    #[test]
    fn e164_is_split_into_ddi_and_number() {
        let pt = Phone::parse_e164("+351912345678").unwrap();
        assert_eq!((pt.ddi(), pt.number()), ("351", "912345678"));
        let uk = Phone::parse_e164("+447911123456").unwrap();
        assert_eq!((uk.ddi(), uk.number()), ("44", "7911123456"));
        assert!(Phone::parse_e164("5511987654321").is_err());
        assert!(Phone::parse_e164("+55119876").is_err());
        assert!(Phone::parse_e164("+").is_err());
        assert_eq!(Phone::parse_e164("+55 11 98765").unwrap_err().field, "");
    }

    #[test]
    fn phone_round_trips_through_serde_as_e164() {
        let p = Phone::parse("55", "11987654321").unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, "\"+5511987654321\"");
        assert_eq!(serde_json::from_str::<Phone>(&json).unwrap(), p);
    }
}
