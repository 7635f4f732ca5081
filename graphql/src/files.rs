//! Signed, expiring file URLs (contact and agent images, attachments): a browser loads them in an
//! `<img>` without an Authorization header, and they stop working after expiry.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::state::ApiState;

type HmacSha256 = Hmac<Sha256>;

fn signature(key: &[u8], sha256: &str, expires: i64) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("hmac accepts any key");
    mac.update(format!("{sha256}|{expires}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The URL path of a stored file, valid until `now + ttl`.
pub fn signed_url(api: &ApiState, sha256: &str) -> String {
    let settings = api.settings();
    let expires = (api.clock().now() + settings.file_url_ttl).timestamp();
    format!(
        "/files/{sha256}?expires={expires}&sig={}",
        signature(&settings.signing_key, sha256, expires)
    )
}

#[derive(serde::Deserialize)]
pub struct SignedQuery {
    expires: i64,
    sig: String,
}

/// `GET /files/{sha256}?expires=..&sig=..`: the file, or 403 when the link is forged or expired.
pub async fn download(
    State(app): State<crate::routes::AppStateRef>,
    Path(sha256): Path<String>,
    Query(q): Query<SignedQuery>,
) -> Response {
    let api = app.api();
    let expected = signature(&api.settings().signing_key, &sha256, q.expires);
    let valid = hmac_eq(expected.as_bytes(), q.sig.as_bytes());
    let now: DateTime<Utc> = api.clock().now();
    if !valid || q.expires <= now.timestamp() {
        return (StatusCode::FORBIDDEN, "link expired or invalid").into_response();
    }
    let row: Result<Option<(String, Vec<u8>)>, _> =
        sqlx::query_as("SELECT content_type, data FROM blobs WHERE sha256 = $1")
            .bind(&sha256)
            .fetch_optional(api.pool())
            .await;
    match row {
        Ok(Some((content_type, data))) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
                // The stored type was recognised from the bytes: browsers must not guess another.
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            ],
            data,
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "no such file").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "file download failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Constant-time comparison, so a signature cannot be guessed byte by byte.
fn hmac_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
