//! Why a Contact command is refused. `graphql/src/error.rs` maps each variant to a contract code.

use thiserror::Error;
use uuid::Uuid;

use crate::validation::ValidationErrors;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContactError {
    /// VALIDATION: every bad field, with its input path.
    #[error("{0}")]
    Validation(ValidationErrors),
    /// CONFLICT: another contact of the account routes by the same phone.
    #[error("phone already in use by contact {existing_id}")]
    PhoneInUse { existing_id: Uuid },
    /// CONFLICT: the client edited an older version.
    #[error("expected version {expected}, but the contact is at version {actual}")]
    VersionMismatch { expected: i64, actual: i64 },
    /// NOT_FOUND: no contact with this id was ever registered.
    #[error("contact not found")]
    NotFound,
    /// CONFLICT: the id is taken (a retried registration).
    #[error("contact already registered")]
    AlreadyRegistered,
    /// NOT_FOUND: the contact has no address with this id.
    #[error("address not found")]
    AddressNotFound,
}

impl From<ValidationErrors> for ContactError {
    fn from(e: ValidationErrors) -> Self {
        Self::Validation(e)
    }
}
