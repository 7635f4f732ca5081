//! The schema extension that parses each query text once: frontends and channel gateways send
//! the same few operations over and over with other variables, and async-graphql's parser was
//! about 7 % of the server's CPU under a stream of `receiveInboundMessage` (docs/benchmarks.md,
//! session 15).
//!
//! A parsed document depends on its text alone, so it is kept by text ([`Recent`]: bounded,
//! the least recently used forgotten first) and each request gets its own copy, which the
//! executor may then change (`@skip`/`@include` remove fields from it). Only documents that
//! parsed and passed the parser's own nesting checks are kept; everything else about a request
//! (validation against the schema and its variables, the depth and complexity limits, execution)
//! runs on every request as before. Texts longer than [`MAX_CACHED_QUERY`] are parsed each time,
//! so the cache's memory stays bounded whatever clients send.

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerResult, Variables};
use commands::recent::Recent;

/// Distinct query texts kept: far more than the operations a panel and its gateways use.
pub const CACHED_QUERIES: usize = 256;

/// Longest query text kept, in bytes: the contract's operations are a few hundred bytes.
pub const MAX_CACHED_QUERY: usize = 8 * 1024;

/// Installs [`ParseCacheExtension`] on a schema; every request shares its cache.
#[derive(Clone)]
pub struct ParseCache(Arc<ParseCacheExtension>);

impl ParseCache {
    pub fn new() -> Self {
        Self(Arc::new(ParseCacheExtension {
            documents: Mutex::new(Recent::new(CACHED_QUERIES)),
        }))
    }

    /// How many documents it holds (for the tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.documents.lock().map(|d| d.len()).unwrap_or(0)
    }
}

impl Default for ParseCache {
    fn default() -> Self {
        Self::new()
    }
}

impl ExtensionFactory for ParseCache {
    fn create(&self) -> Arc<dyn Extension> {
        self.0.clone()
    }
}

/// The parsed documents, by query text.
pub struct ParseCacheExtension {
    documents: Mutex<Recent<String, ExecutableDocument>>,
}

impl ParseCacheExtension {
    fn cached(&self, query: &str) -> Option<ExecutableDocument> {
        self.documents.lock().ok()?.get(query).cloned()
    }

    fn keep(&self, query: &str, document: &ExecutableDocument) {
        if let Ok(mut documents) = self.documents.lock() {
            documents.insert(query.to_string(), document.clone());
        }
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ParseCacheExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if query.len() > MAX_CACHED_QUERY {
            return next.run(ctx, query, variables).await;
        }
        if let Some(document) = self.cached(query) {
            return Ok(document);
        }
        let document = next.run(ctx, query, variables).await?;
        self.keep(query, &document);
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Request, Schema};

    struct Query;

    #[Object]
    impl Query {
        async fn greeting(&self, name: String) -> String {
            format!("hello {name}")
        }

        async fn count(&self) -> i32 {
            7
        }
    }

    fn schema(cache: &ParseCache) -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .limit_depth(1)
            .extension(cache.clone())
            .finish()
    }

    const QUERY: &str =
        "query($name: String!, $skip: Boolean!) { greeting(name: $name) count @skip(if: $skip) }";

    fn request(name: &str, skip: bool) -> Request {
        Request::new(QUERY).variables(Variables::from_json(
            serde_json::json!({ "name": name, "skip": skip }),
        ))
    }

    #[tokio::test]
    async fn a_cached_document_serves_other_variables_and_directives() {
        let cache = ParseCache::new();
        let schema = schema(&cache);
        let first = schema.execute(request("ana", true)).await;
        assert!(first.errors.is_empty(), "{:?}", first.errors);
        assert_eq!(
            first.data.into_json().unwrap(),
            serde_json::json!({ "greeting": "hello ana" })
        );
        assert_eq!(cache.len(), 1);
        // The first request's @skip removed `count` from its own copy, not from the cached one.
        let second = schema.execute(request("bia", false)).await;
        assert!(second.errors.is_empty(), "{:?}", second.errors);
        assert_eq!(
            second.data.into_json().unwrap(),
            serde_json::json!({ "greeting": "hello bia", "count": 7 })
        );
        assert_eq!(cache.len(), 1);
    }

    #[tokio::test]
    async fn a_cached_document_is_still_validated_on_every_request() {
        let cache = ParseCache::new();
        let schema = schema(&cache);
        let missing = Request::new(QUERY)
            .variables(Variables::from_json(serde_json::json!({ "skip": false })));
        let first = schema.execute(missing).await;
        assert_eq!(first.errors.len(), 1, "{:?}", first.errors);
        assert_eq!(cache.len(), 1, "the text parsed, so it is kept");
        let good = schema.execute(request("ana", false)).await;
        assert!(good.errors.is_empty(), "{:?}", good.errors);
        let again = Request::new(QUERY)
            .variables(Variables::from_json(serde_json::json!({ "skip": false })));
        let third = schema.execute(again).await;
        assert_eq!(third.errors.len(), 1, "{:?}", third.errors);
        let deep = schema.execute("{ __schema { types { name } } }").await;
        let deep_again = schema.execute("{ __schema { types { name } } }").await;
        assert_eq!(deep.errors.len(), 1, "the depth limit: {:?}", deep.errors);
        assert_eq!(deep_again.errors, deep.errors);
    }

    #[tokio::test]
    async fn texts_that_do_not_parse_or_are_too_long_are_not_kept() {
        let cache = ParseCache::new();
        let schema = schema(&cache);
        let broken = schema.execute("{ greeting(name: ").await;
        assert_eq!(broken.errors.len(), 1);
        let padded = format!("{{ count }}{}", " ".repeat(MAX_CACHED_QUERY));
        let long = schema.execute(padded.as_str()).await;
        assert!(long.errors.is_empty(), "{:?}", long.errors);
        assert_eq!(
            long.data.into_json().unwrap(),
            serde_json::json!({ "count": 7 })
        );
        assert_eq!(cache.len(), 0);
    }
}
