//! Signed, expiring URLs of chat attachments: `GET /attachments/{id}?expires=..&sig=..`. The URL
//! names the attachment, not the blob, so it stops working when its message is deleted (the
//! same content may still be attached elsewhere), as well as after expiry. A browser loads it in
//! an `<img>` without an Authorization header.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::state::ApiState;

type HmacSha256 = Hmac<Sha256>;

/// Distinguishes these signatures from `/files/...` ones made with the same key.
const PURPOSE: &str = "agent-chat-attachment";

fn signature(key: &[u8], id: Uuid, expires: i64) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("hmac accepts any key");
    mac.update(format!("{PURPOSE}|{id}|{expires}").as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The URL path of a chat attachment, valid until `now + ttl`.
pub fn signed_url(api: &ApiState, id: Uuid) -> String {
    let settings = api.settings();
    let expires = (api.clock().now() + settings.file_url_ttl).timestamp();
    format!(
        "/attachments/{id}?expires={expires}&sig={}",
        hex::encode(signature(&settings.signing_key, id, expires))
    )
}

#[derive(serde::Deserialize)]
pub struct SignedQuery {
    expires: i64,
    sig: String,
}

fn refused() -> Response {
    (StatusCode::FORBIDDEN, "link expired or invalid").into_response()
}

/// The file; 403 when the link is forged, expired, or its message was deleted.
pub async fn download(
    State(app): State<crate::routes::AppStateRef>,
    Path(id): Path<Uuid>,
    Query(q): Query<SignedQuery>,
) -> Response {
    let api = app.api();
    let Ok(sig) = hex::decode(&q.sig) else {
        return refused();
    };
    let mut mac =
        HmacSha256::new_from_slice(&api.settings().signing_key).expect("hmac accepts any key");
    mac.update(format!("{PURPOSE}|{id}|{}", q.expires).as_bytes());
    // verify_slice compares in constant time.
    if mac.verify_slice(&sig).is_err() || q.expires <= api.clock().now().timestamp() {
        return refused();
    }
    let file = match commands::chat::read::attachment_download(api.pool(), id).await {
        Ok(Some(f)) if !f.message_deleted => f,
        Ok(_) => return refused(),
        Err(e) => {
            tracing::error!(error = %e, "attachment download failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    // Only recognised images render inline; anything else downloads, so an uploaded page can
    // never run in the panel's origin.
    let disposition = if domain::chat::is_inline_image(&file.content_type) {
        "inline"
    } else {
        "attachment"
    };
    let disposition = format!(
        "{disposition}; filename*=UTF-8''{}",
        percent_encode(&file.file_name)
    );
    let mut response = file.data.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&file.content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Private and short: the URL must stop working on deletion, so caches must not outlive it.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    response
}

/// RFC 5987 encoding of a file name for `filename*`.
fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_percent_encoded() {
        assert_eq!(percent_encode("print tela.png"), "print%20tela.png");
        assert_eq!(percent_encode("ação\";.pdf"), "a%C3%A7%C3%A3o%22%3B.pdf");
    }

    #[test]
    fn a_signature_names_one_attachment_and_one_expiry() {
        let id = Uuid::new_v4();
        assert_eq!(signature(b"k", id, 10), signature(b"k", id, 10));
        assert_ne!(signature(b"k", id, 10), signature(b"k", id, 11));
        assert_ne!(signature(b"k", id, 10), signature(b"k", Uuid::new_v4(), 10));
    }
}
