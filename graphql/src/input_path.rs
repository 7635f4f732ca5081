//! Naming the input field a GraphQL coercion error is about, in the style of the domain's
//! VALIDATION errors: `addresses.0.uf` for an input object argument (its name left out, as the
//! use cases do), the argument's own name (`accountId`, `ids.3`) otherwise.
//!
//! Two sources: async-graphql's validation messages (`Invalid value for argument
//! "input.addresses.0.uf", enumeration type "Uf" does not contain the value "XX"`), and, for the
//! scalars it only checks while resolving (`UUID`, `DateTime`, `Date`), a walk of the argument's
//! value against the schema's types that finds the first part that does not parse.

use async_graphql::registry::{MetaType, MetaTypeName, Registry};
use async_graphql::{InputType, Value};

/// One step into an input value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Name(String),
    Index(usize),
}

/// The name of a field below `argument`: the argument is left out when the path goes into an
/// input object's fields.
pub fn field_name(argument: &str, below: &[Segment]) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !matches!(below.first(), Some(Segment::Name(_))) {
        parts.push(argument.to_string());
    }
    parts.extend(below.iter().map(|s| match s {
        Segment::Name(n) => n.clone(),
        Segment::Index(i) => i.to_string(),
    }));
    parts.join(".")
}

/// The field and reason of an `Invalid value for argument "path", reason` validation message.
pub fn from_validation_message(message: &str) -> Option<(String, String)> {
    let rest = message.strip_prefix("Invalid value for argument \"")?;
    let (path, reason) = rest.split_once("\", ")?;
    let mut segments = path.split('.').map(|s| match s.parse::<usize>() {
        Ok(i) => Segment::Index(i),
        Err(_) => Segment::Name(s.to_string()),
    });
    let Some(Segment::Name(argument)) = segments.next() else {
        return None;
    };
    let mut below: Vec<Segment> = segments.collect();
    // `field "name" of type … is required`, `unknown field "x" of type …`: name that field.
    let named = reason
        .strip_prefix("field \"")
        .or_else(|| reason.strip_prefix("unknown field \""))
        .and_then(|r| r.split_once('"'))
        .map(|(name, _)| name.to_string());
    below.extend(named.map(Segment::Name));
    Some((field_name(&argument, &below), reason.to_string()))
}

/// The first part of `value` (of the GraphQL type `ty`) that does not parse: where, and why.
pub fn first_invalid(
    registry: &Registry,
    ty: &str,
    value: &Value,
) -> Option<(Vec<Segment>, String)> {
    let mut path = Vec::new();
    let why = walk(registry, ty, value, &mut path)?;
    Some((path, why))
}

fn walk(registry: &Registry, ty: &str, value: &Value, path: &mut Vec<Segment>) -> Option<String> {
    match MetaTypeName::create(ty) {
        MetaTypeName::NonNull(inner) => match value {
            Value::Null => Some(format!("a value of type {inner} is required")),
            _ => walk(registry, inner, value, path),
        },
        MetaTypeName::List(inner) => match value {
            Value::List(items) => items.iter().enumerate().find_map(|(i, item)| {
                path.push(Segment::Index(i));
                let why = walk(registry, inner, item, path);
                if why.is_none() {
                    path.pop();
                }
                why
            }),
            Value::Null => None,
            single => walk(registry, inner, single, path),
        },
        MetaTypeName::Named(_) if matches!(value, Value::Null) => None,
        MetaTypeName::Named(name) => match registry.types.get(name)? {
            MetaType::Scalar { is_valid, .. } => strict_scalar(name, value).or_else(|| {
                let valid = is_valid.as_ref().is_none_or(|check| check(value));
                (!valid).then(|| format!("expected a value of type {name}"))
            }),
            MetaType::Enum { enum_values, .. } => match value {
                Value::Enum(v) if enum_values.contains_key(v.as_str()) => None,
                Value::String(v) if enum_values.contains_key(v.as_str()) => None,
                other => Some(format!("{other} is not a value of {name}")),
            },
            MetaType::InputObject { input_fields, .. } => {
                let Value::Object(fields) = value else {
                    return Some(format!("expected an object of type {name}"));
                };
                input_fields.values().find_map(|field| {
                    path.push(Segment::Name(field.name.clone()));
                    let why = match fields.get(field.name.as_str()) {
                        Some(v) => walk(registry, &field.ty, v, path),
                        None if MetaTypeName::create(&field.ty).is_non_null()
                            && field.default_value.is_none() =>
                        {
                            Some(format!("a value of type {} is required", field.ty))
                        }
                        None => None,
                    };
                    if why.is_none() {
                        path.pop();
                    }
                    why
                })
            }
            _ => None,
        },
    }
}

/// The scalars whose registry check accepts anything: parsed as their resolvers will.
fn strict_scalar(name: &str, value: &Value) -> Option<String> {
    fn parse<T: InputType>(value: &Value) -> Option<String> {
        T::parse(Some(value.clone()))
            .err()
            .map(|e| e.into_server_error(Default::default()).message)
    }
    match name {
        "UUID" => parse::<uuid::Uuid>(value),
        "DateTime" => parse::<chrono::DateTime<chrono::Utc>>(value),
        "Date" => parse::<crate::scalars::Date>(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_object_argument_is_left_out_of_the_name() {
        let name = |s: &[Segment]| field_name("input", s);
        assert_eq!(
            name(&[
                Segment::Name("addresses".into()),
                Segment::Index(0),
                Segment::Name("uf".into())
            ]),
            "addresses.0.uf"
        );
        assert_eq!(name(&[]), "input");
        assert_eq!(field_name("ids", &[Segment::Index(3)]), "ids.3");
    }

    #[test]
    fn validation_messages_name_their_field() {
        let (field, reason) = from_validation_message(
            r#"Invalid value for argument "input.addresses.0.uf", enumeration type "Uf" does not contain the value "XX""#,
        )
        .unwrap();
        assert_eq!(field, "addresses.0.uf");
        assert_eq!(
            reason,
            r#"enumeration type "Uf" does not contain the value "XX""#
        );

        let (field, _) = from_validation_message(
            r#"Invalid value for argument "input", field "name" of type "String!" is required but not provided"#,
        )
        .unwrap();
        assert_eq!(field, "name");
        let (field, _) = from_validation_message(
            r#"Invalid value for argument "input.addresses.1", unknown field "zip" of type "AddressInput""#,
        )
        .unwrap();
        assert_eq!(field, "addresses.1.zip");
        let (field, _) =
            from_validation_message(r#"Invalid value for argument "first", expected type "Int""#)
                .unwrap();
        assert_eq!(field, "first");
        assert!(from_validation_message("Unknown field \"x\" on type \"Query\".").is_none());
    }

    #[derive(async_graphql::InputObject)]
    struct Probe {
        id: uuid::Uuid,
        ids: Option<Vec<uuid::Uuid>>,
        at: Option<chrono::DateTime<chrono::Utc>>,
        visits: Option<Vec<Visit>>,
    }

    #[derive(async_graphql::InputObject)]
    struct Visit {
        day: crate::scalars::Date,
    }

    fn registry() -> Registry {
        let mut registry = Registry::default();
        <Probe as InputType>::create_type_info(&mut registry);
        registry
    }

    fn invalid(json: serde_json::Value) -> Option<(String, String)> {
        let value = Value::from_json(json).unwrap();
        first_invalid(&registry(), "Probe!", &value)
            .map(|(path, why)| (field_name("input", &path), why))
    }

    const ID: &str = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";

    #[test]
    fn the_walk_finds_the_first_part_that_does_not_parse() {
        let fine = serde_json::json!({"id": ID, "ids": [ID], "at": "2026-01-02T03:04:05Z",
            "visits": [{"day": "2026-01-02"}]});
        assert_eq!(invalid(fine), None);

        let (field, why) = invalid(serde_json::json!({"id": ID, "ids": [ID, "nope"]})).unwrap();
        assert_eq!(field, "ids.1");
        assert!(why.contains("UUID"), "{why}");
        let (field, _) = invalid(serde_json::json!({"id": ID, "at": "yesterday"})).unwrap();
        assert_eq!(field, "at");
        let (field, why) =
            invalid(serde_json::json!({"id": ID, "visits": [{"day": "2026-02-30"}]})).unwrap();
        assert_eq!(field, "visits.0.day");
        assert!(why.contains("YYYY-MM-DD"), "{why}");
        let (field, _) = invalid(serde_json::json!({"ids": []})).unwrap();
        assert_eq!(field, "id", "a missing required field");
    }
}
