//! A minimal GraphQL-over-HTTP client, as a frontend or a channel gateway would use the API.

use std::collections::HashSet;

use anyhow::{anyhow, bail};
use serde_json::{json, Value};

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub url: String,
}

impl Api {
    /// One client with its own connection pool (one per simulated frontend or gateway).
    pub fn new(base: &str) -> Api {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(4)
            .build()
            .expect("an HTTP client");
        Api {
            http,
            url: format!("{base}/graphql"),
        }
    }

    /// The whole response (`data` and `errors`).
    pub async fn raw(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .post(&self.url)
            .json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await?;
        Ok(res.json().await?)
    }

    /// `data`, or an error naming the first GraphQL error.
    pub async fn ok(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let v = self.raw(token, query, variables).await?;
        if let Some(errors) = v
            .get("errors")
            .and_then(Value::as_array)
            .filter(|e| !e.is_empty())
        {
            let e = &errors[0];
            bail!(
                "{} ({})",
                e["message"].as_str().unwrap_or("?"),
                e["extensions"]["code"].as_str().unwrap_or("no code")
            );
        }
        Ok(v["data"].clone())
    }

    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let d = self
            .ok(
                None,
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
                json!({"e": email, "p": password}),
            )
            .await?;
        d["login"]["token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("no token in {d}"))
    }

    /// The names of the Query and Mutation fields the server has now.
    pub async fn operations(&self) -> anyhow::Result<HashSet<String>> {
        let d = self
            .ok(
                None,
                "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }",
                json!({}),
            )
            .await?;
        let mut names = HashSet::new();
        for t in ["queryType", "mutationType"] {
            for f in d["__schema"][t]["fields"].as_array().into_iter().flatten() {
                if let Some(n) = f["name"].as_str() {
                    names.insert(n.to_string());
                }
            }
        }
        Ok(names)
    }
}
