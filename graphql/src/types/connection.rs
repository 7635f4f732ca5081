//! Relay cursor connections: `PageInfo`, opaque cursors, page-size checks, and a macro that
//! declares a `XConnection`/`XEdge` pair with the contract's fields (edges, nodes, pageInfo,
//! totalCount).

use async_graphql::SimpleObject;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{gql, ApiResult};
use crate::limits::MAX_PAGE;
use commands::CommandError;

#[derive(SimpleObject, Clone, Debug, Default)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// Encodes a sort key as an opaque cursor.
pub fn encode_cursor<T: Serialize>(key: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// Decodes a cursor made by [`encode_cursor`]; a tampered one is a VALIDATION error.
pub fn decode_cursor<T: DeserializeOwned>(field: &str, cursor: &str) -> ApiResult<T> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| gql(CommandError::field(field, "is not a valid cursor")))
}

/// Checks `first`: 0..=200, else LIMIT_EXCEEDED (negative: VALIDATION).
pub fn page_size(first: i32) -> ApiResult<i64> {
    if first < 0 {
        return Err(gql(CommandError::field("first", "must not be negative")));
    }
    if first > MAX_PAGE {
        return Err(gql(CommandError::LimitExceeded(format!(
            "first may be at most {MAX_PAGE}"
        ))));
    }
    Ok(i64::from(first))
}

/// Declares `$conn { edges, nodes, pageInfo, totalCount }` and `$edge { cursor, node }`.
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty) => {
        #[derive(async_graphql::SimpleObject, Clone)]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }

        #[derive(async_graphql::SimpleObject, Clone)]
        pub struct $conn {
            pub edges: Vec<$edge>,
            pub nodes: Vec<$node>,
            pub page_info: $crate::types::connection::PageInfo,
            pub total_count: i32,
        }

        impl $conn {
            /// Builds a page from rows fetched with one extra row (to know whether more follow).
            pub fn from_rows(
                mut rows: Vec<(String, $node)>,
                first: i64,
                had_cursor: bool,
                total_count: i64,
            ) -> Self {
                let has_next_page = rows.len() as i64 > first;
                rows.truncate(first as usize);
                let edges: Vec<$edge> = rows
                    .into_iter()
                    .map(|(cursor, node)| $edge { cursor, node })
                    .collect();
                let page_info = $crate::types::connection::PageInfo {
                    has_next_page,
                    has_previous_page: had_cursor,
                    start_cursor: edges.first().map(|e| e.cursor.clone()),
                    end_cursor: edges.last().map(|e| e.cursor.clone()),
                };
                Self {
                    nodes: edges.iter().map(|e| e.node.clone()).collect(),
                    edges,
                    page_info,
                    total_count: i32::try_from(total_count).unwrap_or(i32::MAX),
                }
            }
        }
    };
}
pub(crate) use connection;
