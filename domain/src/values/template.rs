//! WhatsApp template (HSM) bodies with `{{1}}`, `{{2}}`... placeholders, and their rendering.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// WhatsApp Business API's limit for the body of a template.
pub const TEMPLATE_BODY_MAX: usize = 1024;
/// Highest placeholder number accepted: no real template comes near it, and it bounds the
/// number of values a send must carry.
pub const TEMPLATE_VARIABLES_MAX: usize = 100;
/// The contract's input path of the values, used in render errors (`templateVariables.0`).
pub const VARIABLES_FIELD: &str = "templateVariables";

enum Segment<'a> {
    Text(&'a str),
    /// A placeholder's number, 1-based.
    Var(usize),
}

/// Splits a body into text and placeholders; `Err` says what is malformed.
fn scan(body: &str) -> Result<Vec<Segment<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let open = rest.find("{{");
        match (open, rest.find("}}")) {
            (None, None) => {
                if !rest.is_empty() {
                    out.push(Segment::Text(rest));
                }
                return Ok(out);
            }
            (o, Some(c)) if o.is_none_or(|o| c < o) => {
                return Err("has a \"}}\" without a matching \"{{\"".into());
            }
            (Some(o), _) => {
                if o > 0 {
                    out.push(Segment::Text(&rest[..o]));
                }
                let after = &rest[o + 2..];
                let Some(end) = after.find("}}") else {
                    return Err("has a \"{{\" that is never closed".into());
                };
                let inner = &after[..end];
                let n = inner
                    .parse::<usize>()
                    .ok()
                    .filter(|_| inner.bytes().all(|b| b.is_ascii_digit()) && !inner.starts_with('0'))
                    .filter(|n| *n <= TEMPLATE_VARIABLES_MAX)
                    .ok_or_else(|| {
                        format!("has a malformed placeholder {{{{{inner}}}}}: use {{{{1}}}} to {{{{{TEMPLATE_VARIABLES_MAX}}}}}")
                    })?;
                out.push(Segment::Var(n));
                rest = &after[end + 2..];
            }
            (None, Some(_)) => unreachable!("covered by the guard above"),
        }
    }
}

/// A template body whose placeholders are well formed and numbered `{{1}}`..`{{N}}` without gaps
/// (each used at least once, in any order). Stored as the body text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TemplateBody {
    body: String,
    variable_count: usize,
}

impl TemplateBody {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let err = |m: String| FieldError::new("", m);
        if s.trim().is_empty() {
            return Err(err("must not be empty".into()));
        }
        if s.chars().count() > TEMPLATE_BODY_MAX {
            return Err(err(format!(
                "must be at most {TEMPLATE_BODY_MAX} characters"
            )));
        }
        let used: BTreeSet<usize> = scan(s)
            .map_err(err)?
            .into_iter()
            .filter_map(|seg| match seg {
                Segment::Var(n) => Some(n),
                Segment::Text(_) => None,
            })
            .collect();
        if let Some(missing) = (1..=used.len()).find(|n| !used.contains(n)) {
            return Err(err(format!("placeholders must be numbered from {{{{1}}}} without gaps: {{{{{missing}}}}} is missing")));
        }
        Ok(Self {
            body: s.to_string(),
            variable_count: used.len(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.body
    }

    /// How many values a send must supply.
    pub fn variable_count(&self) -> usize {
        self.variable_count
    }

    /// The body with `{{n}}` replaced by `vars[n - 1]` (trimmed). Requires exactly
    /// [`variable_count`](Self::variable_count) values, each non-empty and without line breaks or
    /// tabs (WhatsApp refuses those in a parameter). Errors are on `templateVariables` or, for one
    /// value, on its 0-based list index: `templateVariables.0` is the value of `{{1}}`.
    pub fn render(&self, vars: &[String]) -> Result<String, FieldError> {
        if vars.len() != self.variable_count {
            return Err(FieldError::new(
                VARIABLES_FIELD,
                format!(
                    "expected {} values, got {}",
                    self.variable_count,
                    vars.len()
                ),
            ));
        }
        for (i, v) in vars.iter().enumerate() {
            let field = format!("{VARIABLES_FIELD}.{i}");
            if v.trim().is_empty() {
                return Err(FieldError::new(field, "must not be empty"));
            }
            if v.contains(['\n', '\r', '\t']) {
                return Err(FieldError::new(
                    field,
                    "must not contain line breaks or tabs",
                ));
            }
        }
        let segments = scan(&self.body).expect("a parsed body scans");
        Ok(segments
            .into_iter()
            .map(|seg| match seg {
                Segment::Text(t) => t,
                Segment::Var(n) => vars[n - 1].trim(),
            })
            .collect())
    }
}

impl TryFrom<String> for TemplateBody {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, FieldError> {
        Self::parse(&s)
    }
}

impl From<TemplateBody> for String {
    fn from(t: TemplateBody) -> String {
        t.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(v: &[&str]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn body_with_contiguous_placeholders_counts_them() {
        let t = TemplateBody::parse("Olá {{1}}, seu pedido {{2}} chegou. {{1}}!").unwrap();
        assert_eq!(t.variable_count(), 2);
        assert_eq!(
            TemplateBody::parse("{{2}} e {{1}}")
                .unwrap()
                .variable_count(),
            2
        );
        assert_eq!(
            TemplateBody::parse("Sem variáveis {a} }")
                .unwrap()
                .variable_count(),
            0
        );
    }

    #[test]
    fn placeholders_with_a_gap_are_rejected() {
        let e = TemplateBody::parse("{{1}} {{3}}").unwrap_err();
        assert!(e.message.contains("{{2}} is missing"), "{}", e.message);
        assert!(TemplateBody::parse("{{2}}").is_err());
    }

    #[test]
    fn malformed_braces_are_rejected() {
        for body in [
            "{{a}}",
            "{{ 1 }}",
            "{{0}}",
            "{{01}}",
            "{{1",
            "oi }} {{1}}",
            "{{}}",
            "{{{1}}}",
            "{{101}}",
            "{{-1}}",
        ] {
            assert!(TemplateBody::parse(body).is_err(), "{body}");
        }
    }

    #[test]
    fn empty_or_too_long_bodies_are_rejected() {
        assert!(TemplateBody::parse("  ").is_err());
        assert!(TemplateBody::parse(&"a".repeat(TEMPLATE_BODY_MAX + 1)).is_err());
    }

    #[test]
    fn render_replaces_each_placeholder_with_its_value() {
        let t = TemplateBody::parse("Olá {{1}}, pedido {{2}}. Até {{1}}.").unwrap();
        assert_eq!(
            t.render(&vars(&[" Ana ", "42"])).unwrap(),
            "Olá Ana, pedido 42. Até Ana."
        );
    }

    #[test]
    fn render_does_not_expand_placeholders_inside_values() {
        let t = TemplateBody::parse("{{1}} {{2}}").unwrap();
        assert_eq!(t.render(&vars(&["{{2}}", "x"])).unwrap(), "{{2}} x");
    }

    #[test]
    fn render_requires_exactly_variable_count_values() {
        let t = TemplateBody::parse("{{1}} {{2}}").unwrap();
        let e = t.render(&vars(&["a"])).unwrap_err();
        assert_eq!(e.field, "templateVariables");
        assert!(t.render(&vars(&["a", "b", "c"])).is_err());
    }

    #[test]
    fn render_rejects_blank_values_and_line_breaks_or_tabs() {
        let t = TemplateBody::parse("{{1}} {{2}}").unwrap();
        assert_eq!(
            t.render(&vars(&["a", "  "])).unwrap_err().field,
            "templateVariables.1"
        );
        assert_eq!(
            t.render(&vars(&["a\nb", "c"])).unwrap_err().field,
            "templateVariables.0"
        );
        assert_eq!(
            t.render(&vars(&["a", "b\tc"])).unwrap_err().field,
            "templateVariables.1"
        );
        assert_eq!(
            t.render(&vars(&["a\rb", "c"])).unwrap_err().field,
            "templateVariables.0"
        );
    }

    #[test]
    fn template_body_round_trips_through_serde() {
        let t = TemplateBody::parse("Oi {{1}}").unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"Oi {{1}}\"");
        assert_eq!(serde_json::from_str::<TemplateBody>(&json).unwrap(), t);
    }
}
