//! The schema against its two references: the exported SDL (`graphql/schema.graphql`, what
//! frontends and reviewers read) must equal the live schema, and the live schema must contain
//! the API contract (`graphql/contract.graphql`, a copy of the product's contract) — every type,
//! field, argument, input field and enum value with the same type and nullability.

use std::collections::BTreeMap;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

const EXPORTED: &str = include_str!("../schema.graphql");
const CONTRACT: &str = include_str!("../contract.graphql");

/// Every item of an SDL as `Type.field(arg)` → its type, so two schemas compare as maps.
fn items(sdl: &str) -> BTreeMap<String, String> {
    let doc = parse_schema(sdl).expect("a valid SDL");
    let mut out = BTreeMap::new();
    for def in doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let name = t.node.name.node.to_string();
        match &t.node.kind {
            TypeKind::Scalar => {
                out.insert(name.clone(), "scalar".into());
            }
            TypeKind::Object(o) => {
                out.insert(name.clone(), "object".into());
                for f in &o.fields {
                    let fname = format!("{name}.{}", f.node.name.node);
                    out.insert(fname.clone(), f.node.ty.node.to_string());
                    for a in &f.node.arguments {
                        out.insert(
                            format!("{fname}({})", a.node.name.node),
                            a.node.ty.node.to_string(),
                        );
                    }
                }
            }
            TypeKind::Interface(o) => {
                out.insert(name.clone(), "interface".into());
                for f in &o.fields {
                    out.insert(
                        format!("{name}.{}", f.node.name.node),
                        f.node.ty.node.to_string(),
                    );
                }
            }
            TypeKind::Union(_) => {
                out.insert(name.clone(), "union".into());
            }
            TypeKind::Enum(e) => {
                out.insert(name.clone(), "enum".into());
                for v in &e.values {
                    out.insert(format!("{name}::{}", v.node.value.node), "value".into());
                }
            }
            TypeKind::InputObject(i) => {
                out.insert(name.clone(), "input".into());
                for f in &i.fields {
                    out.insert(
                        format!("{name}.{}", f.node.name.node),
                        f.node.ty.node.to_string(),
                    );
                }
            }
        }
    }
    out
}

#[test]
fn the_exported_sdl_is_the_live_schema() {
    let live = graphql::sdl();
    assert!(
        live == EXPORTED,
        "graphql/schema.graphql is stale: run `cargo run -- print-schema > graphql/schema.graphql`"
    );
}

#[test]
fn the_live_schema_contains_the_contract() {
    let live = items(&graphql::sdl());
    let contract = items(CONTRACT);
    let mut problems = Vec::new();
    for (item, ty) in &contract {
        match live.get(item) {
            None => problems.push(format!("{item} is missing")),
            Some(live_ty) if live_ty != ty => {
                problems.push(format!("{item} is {live_ty}, the contract says {ty}"))
            }
            Some(_) => {}
        }
    }
    assert!(
        problems.is_empty(),
        "{} contract problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
