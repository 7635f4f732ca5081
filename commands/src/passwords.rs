//! Password hashing with argon2id (the crate's defaults: OWASP's recommended parameters). Hashing
//! is deliberately slow, so it runs on the blocking pool, never on the async workers.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::CommandError;

/// Hashes a password into a PHC string (`$argon2id$...`).
pub async fn hash_password(password: String) -> Result<String, CommandError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| CommandError::Internal(anyhow::anyhow!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| CommandError::Internal(e.into()))?
}

/// Checks a password against a stored PHC string; a malformed hash never verifies.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, computed once: verifying an unknown e-mail's login against it
/// costs as long as a wrong password, so timing does not tell whether the e-mail exists.
pub async fn dummy_hash() -> String {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async {
            hash_password(crate::tokens::new_token())
                .await
                .unwrap_or_default()
        })
        .await
        .clone()
}
