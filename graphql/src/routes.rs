//! The HTTP surface: `POST /graphql` (JSON and multipart uploads), `GET /graphql` (GraphiQL),
//! `GET /graphql/ws` (subscriptions), `GET /health`, `GET /ready`, and `GET /files/...` (signed
//! file downloads).

use std::net::SocketAddr;

use async_graphql::http::{GraphiQLSource, MultipartOptions};
use async_graphql_axum::{GraphQLProtocol, GraphQLResponse};
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::TryStreamExt;
use uuid::Uuid;

use crate::auth::RequestInfo;
use crate::limits::{MAX_JSON_BODY, MAX_MULTIPART_BODY};
use crate::schema::AppSchema;
use crate::state::ApiState;

/// Header carrying the request's correlation id, accepted from the client or generated.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

#[derive(Clone)]
pub struct AppState {
    schema: AppSchema,
    api: ApiState,
}

/// The router's state as handlers in other modules see it.
pub type AppStateRef = AppState;

impl AppState {
    pub fn api(&self) -> &ApiState {
        &self.api
    }
}

/// The whole API as an axum router (tests may call it without a socket).
pub fn router(schema: AppSchema, api: ApiState) -> Router {
    Router::new()
        .route("/graphql", get(graphiql).post(graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(ready))
        .route("/files/{sha256}", get(crate::files::download))
        .route("/attachments/{id}", get(crate::attachments::download))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_MULTIPART_BODY))
        .with_state(AppState { schema, api })
}

async fn graphiql() -> impl IntoResponse {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .finish(),
    )
}

fn correlation_id(headers: &HeaderMap) -> String {
    headers
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

async fn request_info(
    api: &ApiState,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> RequestInfo {
    let actor = match bearer(headers) {
        Some(token) => api
            .commands()
            .sessions
            .resolve(api.pool(), &token, api.clock().now())
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "token lookup failed");
                None
            }),
        None => None,
    };
    RequestInfo {
        actor,
        correlation_id: correlation_id(headers),
        address: crate::client_address::client_address(
            headers,
            peer,
            &api.settings().trusted_proxies,
        ),
    }
}

async fn graphql_post(State(app): State<AppState>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().cloned();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let is_multipart = content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("multipart/"));
    let limit = if is_multipart {
        MAX_MULTIPART_BODY
    } else {
        MAX_JSON_BODY
    };
    let settings = app.api.settings();
    let options = MultipartOptions::default()
        .max_file_size(settings.max_attachment_bytes.max(settings.max_image_bytes))
        .max_num_files(settings.max_files);
    let stream = axum::body::Body::new(http_body_util::Limited::new(body, limit))
        .into_data_stream()
        .map_err(|e| std::io::Error::other(e.to_string()))
        .into_async_read();
    let request = match async_graphql::http::receive_body(content_type, stream, options).await {
        Ok(r) => r,
        Err(e) => return parse_error(e),
    };
    let info = request_info(&app.api, &headers, peer.map(|c| c.0)).await;
    let correlation = info.correlation_id.clone();
    let response: GraphQLResponse = app.schema.execute(request.data(info)).await.into();
    let mut response = response.into_response();
    if let Ok(v) = HeaderValue::from_str(&correlation) {
        response.headers_mut().insert(CORRELATION_HEADER, v);
    }
    response
}

fn parse_error(e: async_graphql::ParseRequestError) -> Response {
    use async_graphql::ParseRequestError as P;
    let (status, code) = match &e {
        P::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "LIMIT_EXCEEDED"),
        P::Io(io) if io.to_string().contains("length limit") => {
            (StatusCode::PAYLOAD_TOO_LARGE, "LIMIT_EXCEEDED")
        }
        _ => (StatusCode::BAD_REQUEST, "VALIDATION"),
    };
    let mut extensions = serde_json::json!({ "code": code });
    if code == "VALIDATION" {
        extensions["fields"] = serde_json::json!([]);
    }
    let body = serde_json::json!({
        "data": null,
        "errors": [{ "message": e.to_string(), "extensions": extensions }]
    });
    (status, axum::Json(body)).into_response()
}

async fn graphql_ws(
    State(app): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
    headers: HeaderMap,
) -> Response {
    let correlation = correlation_id(&headers);
    // graphql-ws (the legacy subscriptions-transport-ws) unless the client offers the new one.
    let legacy = !headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == "graphql-transport-ws"));
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .read_buffer_size(crate::ws::READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(crate::ws::MAX_WRITE_BUFFER)
        .max_message_size(crate::ws::MAX_CLIENT_MESSAGE)
        .max_frame_size(crate::ws::MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| {
            crate::ws::serve(socket, app.schema, protocol, legacy, app.api, correlation)
        })
}

async fn ready(State(app): State<AppState>) -> Response {
    let db = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(app.api.pool())
        .await;
    let applied = match db {
        Ok(n) => n,
        Err(e) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("database not reachable: {e}"),
            )
                .into_response();
        }
    };
    let expected = commands::db::migrations_count();
    if (applied as usize) < expected {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("migrations pending: {applied}/{expected}"),
        )
            .into_response();
    }
    let status = match app.api.projector().status().await {
        Ok(s) => s,
        Err(e) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("projections unknown: {e}"),
            )
                .into_response()
        }
    };
    let failing: Vec<serde_json::Value> = status
        .iter()
        .filter(|s| s.last_error.is_some())
        .map(|s| serde_json::json!({"projection": s.name, "event": s.failed_event, "error": s.last_error}))
        .collect();
    let body = serde_json::json!({
        "database": "ok",
        "migrations": applied,
        "projections": status.iter().map(|s| serde_json::json!({"name": s.name, "position": s.checkpoint.position})).collect::<Vec<_>>(),
        "failing": failing,
    });
    let code = if failing.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}
