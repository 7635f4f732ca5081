//! The one place where failures become the contract's GraphQL errors: every error carries
//! `extensions.code`; VALIDATION adds `extensions.fields`, CONFLICT may add
//! `extensions.existingId`. Internal failures are logged with their cause chain and shown to the
//! client as a generic message that leaks nothing.

use async_graphql::{ErrorExtensions, Value};
use commands::CommandError;

/// A resolver's error.
#[derive(Debug)]
pub struct ApiError(pub CommandError);

/// What resolvers return.
pub type ApiResult<T> = Result<T, async_graphql::Error>;

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        Self(e)
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        let e = &self.0;
        let message = match e {
            CommandError::Internal(cause) => {
                tracing::error!(error = %format!("{cause:#}"), "internal error");
                "internal error".to_string()
            }
            other => other.to_string(),
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", e.code());
            match e {
                CommandError::Validation(errors) => {
                    let fields: Vec<Value> = errors
                        .0
                        .iter()
                        .map(|f| {
                            let mut m = async_graphql::indexmap::IndexMap::new();
                            m.insert(
                                async_graphql::Name::new("field"),
                                Value::from(f.field.clone()),
                            );
                            m.insert(
                                async_graphql::Name::new("message"),
                                Value::from(f.message.clone()),
                            );
                            Value::Object(m)
                        })
                        .collect();
                    ext.set("fields", Value::List(fields));
                }
                CommandError::Conflict {
                    existing_id: Some(id),
                    ..
                } => ext.set("existingId", id.to_string()),
                _ => {}
            }
        })
    }
}

/// Converts any use-case error into a GraphQL error with its code.
pub fn gql(e: impl Into<CommandError>) -> async_graphql::Error {
    ApiError(e.into()).extend()
}

/// Unexpected infrastructure failures (database, IO) in resolvers.
pub fn internal(e: impl Into<anyhow::Error>) -> async_graphql::Error {
    gql(CommandError::Internal(e.into()))
}

/// Lets resolvers write `.map_err(gql)?` style conversions with `?` on CommandResult.
pub trait IntoGql<T> {
    fn gql(self) -> ApiResult<T>;
}

impl<T, E: Into<CommandError>> IntoGql<T> for Result<T, E> {
    fn gql(self) -> ApiResult<T> {
        self.map_err(gql)
    }
}
