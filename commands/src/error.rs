//! What a use case can answer besides success, in the categories of the API contract's error
//! codes. Each aggregate's closed error enum is mapped to a category here; `graphql` maps the
//! categories to `extensions.code`.

use cqrs_es::AggregateError;
use domain::validation::{FieldError, ValidationErrors};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Validation(ValidationErrors),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    Conflict {
        message: String,
        existing_id: Option<Uuid>,
    },
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    WindowClosed(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    RateLimited(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type CommandResult<T> = Result<T, CommandError>;

impl CommandError {
    pub fn field(field: &str, message: &str) -> Self {
        Self::Validation(FieldError::new(field, message).into())
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn forbidden(why: impl Into<String>) -> Self {
        Self::Forbidden(why.into())
    }

    /// The stable code the contract gives this category.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "VALIDATION",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::Conflict { .. } => "CONFLICT",
            Self::InvalidState(_) => "INVALID_STATE",
            Self::WindowClosed(_) => "WINDOW_CLOSED",
            Self::LimitExceeded(_) => "LIMIT_EXCEEDED",
            Self::RateLimited(_) => "RATE_LIMITED",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl From<sqlx::Error> for CommandError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(anyhow::Error::new(e))
    }
}

impl From<ValidationErrors> for CommandError {
    fn from(e: ValidationErrors) -> Self {
        Self::Validation(e)
    }
}

/// Turns cqrs-es's error into ours: a rejected command keeps its category; a concurrent write
/// to the same aggregate (optimistic lock) is a CONFLICT the client may retry.
pub fn from_aggregate<E>(e: AggregateError<E>) -> CommandError
where
    E: std::error::Error + Into<CommandError>,
{
    match e {
        AggregateError::UserError(e) => e.into(),
        AggregateError::AggregateConflict => CommandError::Conflict {
            message: "the record was changed concurrently; retry".to_string(),
            existing_id: None,
        },
        AggregateError::DatabaseConnectionError(e) => CommandError::Internal(anyhow::anyhow!(e)),
        AggregateError::DeserializationError(e) => CommandError::Internal(anyhow::anyhow!(e)),
        AggregateError::UnexpectedError(e) => CommandError::Internal(anyhow::anyhow!(e)),
    }
}
