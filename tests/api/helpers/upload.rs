//! Uploads over HTTP as browsers send them: the GraphQL multipart request spec (`operations`,
//! `map`, then one part per file).

use serde_json::{json, Value};

use super::app::TestApp;

/// One file of a multipart request: the variable it fills (`image`, `files.0`), its name, the
/// content type the client claims, and its bytes.
#[derive(Clone, Copy)]
pub struct FilePart<'a> {
    pub variable: &'a str,
    pub name: &'a str,
    pub claimed_type: &'a str,
    pub bytes: &'a [u8],
}

/// POSTs `query` with `variables` (each file's variable set to null) and `files` as a multipart
/// request; returns the whole JSON response.
pub async fn multipart(
    app: &TestApp,
    token: &str,
    query: &str,
    variables: Value,
    files: &[FilePart<'_>],
) -> Value {
    let operations = json!({"query": query, "variables": variables});
    let map: serde_json::Map<String, Value> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (i.to_string(), json!([format!("variables.{}", f.variable)])))
        .collect();
    let mut form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", Value::Object(map).to_string());
    for (i, f) in files.iter().enumerate() {
        let part = reqwest::multipart::Part::bytes(f.bytes.to_vec())
            .file_name(f.name.to_string())
            .mime_str(f.claimed_type)
            .unwrap();
        form = form.part(i.to_string(), part);
    }
    let res = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    res.json().await.unwrap()
}
