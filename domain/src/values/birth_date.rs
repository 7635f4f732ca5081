//! Birth dates: not in the future and not absurdly old.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// The earliest birth date accepted: anything older is a typing mistake (`1889` for `1989`).
pub const BIRTH_DATE_MIN: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// A birth date between [`BIRTH_DATE_MIN`] and the day it was given. Stored as `YYYY-MM-DD`;
/// reading it back does not re-check "not in the future", which depended on that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BirthDate(NaiveDate);

impl BirthDate {
    /// `today` is the account's local date, supplied by the caller (the domain has no clock).
    pub fn parse(date: NaiveDate, today: NaiveDate) -> Result<Self, FieldError> {
        if date > today {
            return Err(FieldError::new("", "must not be in the future"));
        }
        if date < BIRTH_DATE_MIN {
            return Err(FieldError::new(
                "",
                format!("must not be before {BIRTH_DATE_MIN}"),
            ));
        }
        Ok(Self(date))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn birth_date_today_or_in_the_past_is_accepted() {
        let today = d(2025, 6, 1);
        assert_eq!(BirthDate::parse(today, today).unwrap().date(), today);
        assert!(BirthDate::parse(d(1900, 1, 1), today).is_ok());
    }

    #[test]
    fn birth_date_in_the_future_is_rejected() {
        assert!(BirthDate::parse(d(2025, 6, 2), d(2025, 6, 1)).is_err());
    }

    #[test]
    fn birth_date_before_1900_is_rejected() {
        assert!(BirthDate::parse(d(1899, 12, 31), d(2025, 6, 1)).is_err());
    }

    #[test]
    fn birth_date_round_trips_as_iso_date() {
        let b = BirthDate::parse(d(1990, 2, 3), d(2025, 6, 1)).unwrap();
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(json, "\"1990-02-03\"");
        assert_eq!(serde_json::from_str::<BirthDate>(&json).unwrap(), b);
    }
}
