//! The API's size and shape limits, each a named constant whose doc says why.

/// Deepest query accepted: the contract's deepest useful query (attendance → messages → agent →
/// ...) is well under this; deeper ones are abuse.
pub const MAX_DEPTH: usize = 12;

/// Most complex query accepted (async-graphql counts one per field, times list sizes where set).
pub const MAX_COMPLEXITY: usize = 2_000;

/// Largest `first` of any connection (the contract says 200).
pub const MAX_PAGE: i32 = 200;

/// Largest request body without files: far above any legitimate query.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// Largest contact or agent image (the contract says 5 MiB).
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// Largest attachment (issue: 20 MiB each, configurable).
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;

/// Most files in one request (issue: up to 10).
pub const MAX_FILES: usize = 10;

/// Largest multipart body: every file at its limit plus the operations.
pub const MAX_MULTIPART_BODY: usize = MAX_FILES * MAX_ATTACHMENT_BYTES + MAX_JSON_BODY;
