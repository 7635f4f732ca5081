//! Authentication: sessions, tokens, login throttling, and the login/logout use cases.

pub mod rate_limit;
pub mod session_cache;
pub mod sessions;
