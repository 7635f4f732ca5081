//! The schema extension that gives every error `extensions.code`, also those async-graphql makes
//! itself before or around our resolvers, on HTTP and websockets alike:
//!
//! - depth and complexity limits → LIMIT_EXCEEDED;
//! - syntax errors, unknown fields, missing arguments and values that do not coerce to their
//!   type (an unknown enum value, a malformed `Date`, `DateTime` or `UUID`) → VALIDATION, with
//!   `extensions.fields` naming the input field when it can be told ([`crate::input_path`]);
//! - anything else without a code → INTERNAL, logged, its message hidden.
//!
//! Errors our resolvers raise already carry a code ([`crate::error`]) and are left alone.

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextRequest, NextResolve,
    NextSubscribe, ResolveInfo,
};
use async_graphql::{Request, Response, ServerError, ServerResult, Value, Variables};
use commands::CommandError;
use domain::validation::{FieldError, ValidationErrors};
use futures::stream::BoxStream;
use futures::StreamExt;

use crate::error::gql;
use crate::input_path::{field_name, first_invalid, from_validation_message};

/// async-graphql's messages for the limits of `limits.rs`, and for its own nesting limit.
const LIMIT_MESSAGES: [&str; 3] = [
    "Query is nested too deep.",
    "Query is too complex.",
    "The recursion depth of the query cannot be greater than",
];

/// Installs [`ErrorCodesExtension`] on a schema.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension::default())
    }
}

/// One request's instance: it keeps the variables, to name the field a coercion error is about.
#[derive(Default)]
pub struct ErrorCodesExtension {
    variables: Mutex<Variables>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Ok(mut variables) = self.variables.lock() {
            variables.clone_from(&request.variables);
        }
        next.run(ctx, request).await
    }

    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        response.errors.iter_mut().for_each(give_code);
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream)
            .map(|mut response| {
                response.errors.iter_mut().for_each(give_code);
                response
            })
            .boxed()
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let field = info.field;
        let parent_type = info.parent_type;
        let name = info.name;
        next.run(ctx, info).await.map_err(|mut error| {
            if !has_code(&error) {
                if let Some(fields) = self.bad_argument(ctx, parent_type, name, field, &error) {
                    set_validation(&mut error, fields);
                }
            }
            error
        })
    }
}

impl ErrorCodesExtension {
    /// When `error` is about one of the field's arguments not coercing to its type (the error
    /// points at the argument's value): which input field, and why.
    fn bad_argument(
        &self,
        ctx: &ExtensionContext<'_>,
        parent_type: &str,
        field_name_in_schema: &str,
        field: &async_graphql::parser::types::Field,
        error: &ServerError,
    ) -> Option<Vec<FieldError>> {
        let at = error.locations.first()?;
        let (argument, value) = field.arguments.iter().find(|(_, v)| v.pos == *at)?;
        let registry = &ctx.schema_env.registry;
        let declared = registry
            .types
            .get(parent_type)?
            .field_by_name(field_name_in_schema)?
            .args
            .get(argument.node.as_str())?;
        let variables = self.variables.lock().ok()?;
        let resolved = value
            .node
            .clone()
            .into_const_with(|name| variables.get(&name).cloned().ok_or(()))
            .ok();
        let (below, why) = resolved
            .and_then(|v| first_invalid(registry, &declared.ty, &v))
            .unwrap_or_else(|| (Vec::new(), error.message.clone()));
        Some(vec![FieldError::new(
            field_name(argument.node.as_str(), &below),
            why,
        )])
    }
}

fn has_code(error: &ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some())
}

/// Gives `error` a code when it has none.
fn give_code(error: &mut ServerError) {
    if has_code(error) {
        return;
    }
    if LIMIT_MESSAGES.iter().any(|m| error.message.starts_with(m)) {
        let coded = gql(CommandError::LimitExceeded(error.message.clone()));
        error.extensions = coded.extensions;
    } else if let Some((field, reason)) = from_validation_message(&error.message) {
        set_validation(error, vec![FieldError::new(field, reason)]);
    } else if error.path.is_empty() || is_coercion_message(&error.message) {
        // Before execution (syntax, unknown fields, missing arguments), or a subscription's
        // argument that did not coerce.
        set_validation(error, Vec::new());
    } else {
        let coded = gql(CommandError::Internal(anyhow::anyhow!(
            "uncoded error at {:?}: {}",
            error.path,
            error.message
        )));
        error.message = coded.message;
        error.extensions = coded.extensions;
    }
}

/// async-graphql's words for a value that does not coerce to its input type.
fn is_coercion_message(message: &str) -> bool {
    message.starts_with("Failed to parse \"")
        || message.starts_with("Expected input type \"")
        || message.contains("(occurred while parsing \"")
}

/// VALIDATION with `fields`; the message names them when known, else stays async-graphql's.
fn set_validation(error: &mut ServerError, fields: Vec<FieldError>) {
    let errors = ValidationErrors(fields);
    if !errors.is_empty() {
        error.message = errors.to_string();
    }
    error.extensions = gql(CommandError::Validation(errors)).extensions;
}
