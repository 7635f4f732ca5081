//! Stored files (images, attachments), once per content hash, in the `blobs` table.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::error::CommandResult;

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub sha256: String,
    pub content_type: String,
    pub size: u64,
}

impl StoredFile {
    /// What `bytes` are once stored (hash and size), without storing them.
    pub fn describe(bytes: &[u8], content_type: &str) -> Self {
        Self {
            sha256: hex::encode(Sha256::digest(bytes)),
            content_type: content_type.to_string(),
            size: bytes.len() as u64,
        }
    }
}

/// An uploaded file not stored yet: its bytes and the content type recognised from them. A use
/// case stores it only once the change it is for may be made, so a refused request writes
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

/// Stores `bytes` under their SHA-256 (a second upload of the same content stores nothing).
pub async fn store(pool: &PgPool, bytes: &[u8], content_type: &str) -> CommandResult<StoredFile> {
    let file = StoredFile::describe(bytes, content_type);
    sqlx::query("INSERT INTO blobs (sha256, content_type, size, data) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
        .bind(&file.sha256)
        .bind(content_type)
        .bind(bytes.len() as i64)
        .bind(bytes)
        .execute(pool)
        .await?;
    Ok(file)
}
