//! The clock every use case reads "now" from: the system clock in production, a manual one in
//! tests (day boundaries, the 24-hour window, session expiry are tested without sleeping).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

/// A cheap, cloneable handle on the time source.
#[derive(Clone, Debug, Default)]
pub struct Clock(Option<Arc<Mutex<DateTime<Utc>>>>);

impl Clock {
    /// The real time.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that stands still at `start` until it is set or advanced.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self(Some(Arc::new(Mutex::new(start))))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            None => Utc::now(),
            Some(t) => *t.lock().expect("clock lock"),
        }
    }

    /// Moves a manual clock to `at`; ignored by the system clock.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Some(t) = &self.0 {
            *t.lock().expect("clock lock") = at;
        }
    }

    /// Moves a manual clock forward; ignored by the system clock.
    pub fn advance(&self, by: Duration) {
        if let Some(t) = &self.0 {
            let mut t = t.lock().expect("clock lock");
            *t += by;
        }
    }
}
