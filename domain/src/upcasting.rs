//! Event schema evolution: converting a stored payload of an older version to the shape the
//! current code reads. Stored events are never rewritten; each change of an event's payload gets
//! a new `event_version` and a rule here, applied whenever the log is read (aggregate loading,
//! projections, replay, time travel).

use serde::de::DeserializeOwned;
use serde_json::Value;

/// One conversion: payloads of `event_type` at `from_version` become `to_version`.
pub struct Upcaster {
    pub event_type: &'static str,
    pub from_version: &'static str,
    pub to_version: &'static str,
    pub convert: fn(Value) -> Value,
}

/// `AgentRegistered` 0.9, written by the pre-release Admin Panel importer, named the concurrent
/// limit `maxConcurrency` and had no service list; 1.0 names it `max_concurrent` and requires
/// `service_ids`.
fn agent_registered_0_9(mut v: Value) -> Value {
    if let Some(obj) = v.get_mut("AgentRegistered").and_then(Value::as_object_mut) {
        if let Some(limit) = obj.remove("maxConcurrency") {
            obj.insert("max_concurrent".into(), limit);
        }
        obj.entry("service_ids")
            .or_insert_with(|| Value::Array(vec![]));
    }
    v
}

/// Every rule, oldest first; a payload goes through each rule whose version matches in turn.
pub const UPCASTERS: &[Upcaster] = &[Upcaster {
    event_type: "AgentRegistered",
    from_version: "0.9",
    to_version: "1.0",
    convert: agent_registered_0_9,
}];

/// The payload converted to the current version of its event type.
pub fn upcast(event_type: &str, event_version: &str, mut payload: Value) -> Value {
    let mut version = event_version.to_string();
    for u in UPCASTERS {
        if u.event_type == event_type && u.from_version == version {
            payload = (u.convert)(payload);
            version = u.to_version.to_string();
        }
    }
    payload
}

/// Whether a payload of `event_type` at `event_version` is already in today's shape (no rule
/// converts it).
pub fn is_current(event_type: &str, event_version: &str) -> bool {
    !UPCASTERS
        .iter()
        .any(|u| u.event_type == event_type && u.from_version == event_version)
}

/// The event a stored payload's text holds, at the current version of its type. A payload
/// already in today's shape (nearly all) is decoded straight from its text, without building a
/// [`Value`] first; an older one is parsed, upcast, then decoded.
pub fn decode<T: DeserializeOwned>(
    event_type: &str,
    event_version: &str,
    payload: &str,
) -> serde_json::Result<T> {
    if is_current(event_type, event_version) {
        serde_json::from_str(payload)
    } else {
        serde_json::from_value(upcast(
            event_type,
            event_version,
            serde_json::from_str(payload)?,
        ))
    }
}

/// The version a payload of `event_type` at `event_version` has after [`upcast`].
pub fn current_version(event_type: &str, event_version: &str) -> String {
    let mut version = event_version.to_string();
    for u in UPCASTERS {
        if u.event_type == event_type && u.from_version == version {
            version = u.to_version.to_string();
        }
    }
    version
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::AgentEvent;

    #[test]
    fn an_agent_registered_at_version_0_9_reads_as_today() {
        let old = serde_json::json!({"AgentRegistered": {
            "agent_id": "6f1c2d3e-0000-4000-8000-000000000001", "name": "Ana", "email": "ana@example.com",
            "password_hash": "$argon2id$x", "role": "AGENT", "maxConcurrency": 3, "at": "2025-01-02T03:04:05Z"
        }});
        let event: AgentEvent =
            serde_json::from_value(upcast("AgentRegistered", "0.9", old)).unwrap();
        let AgentEvent::AgentRegistered {
            max_concurrent,
            service_ids,
            ..
        } = event
        else {
            panic!("{event:?}")
        };
        assert_eq!(max_concurrent, 3);
        assert!(service_ids.is_empty());
    }

    #[test]
    fn decoding_a_payload_text_upcasts_old_versions_and_reads_current_ones_as_they_are() {
        let old = r#"{"AgentRegistered": {"agent_id": "6f1c2d3e-0000-4000-8000-000000000001",
            "name": "Ana", "email": "ana@example.com", "password_hash": "$argon2id$x",
            "role": "AGENT", "maxConcurrency": 3, "at": "2025-01-02T03:04:05Z"}}"#;
        let from_old: AgentEvent = decode("AgentRegistered", "0.9", old).unwrap();
        let current = old.replace(
            r#""maxConcurrency": 3"#,
            r#""max_concurrent": 3, "service_ids": []"#,
        );
        let from_current: AgentEvent = decode("AgentRegistered", "1.0", &current).unwrap();
        assert_eq!(from_old, from_current);
        let AgentEvent::AgentRegistered { max_concurrent, .. } = from_current else {
            panic!("{from_current:?}")
        };
        assert_eq!(max_concurrent, 3);
        // The old shape is not today's: read as current, it is refused, not misread.
        assert!(decode::<AgentEvent>("AgentRegistered", "1.0", old).is_err());
    }

    #[test]
    fn only_versions_a_rule_converts_are_not_current() {
        assert!(!is_current("AgentRegistered", "0.9"));
        assert!(is_current("AgentRegistered", "1.0"));
        assert!(is_current("ContactRegistered", "1.0"));
    }

    #[test]
    fn current_versions_pass_through_unchanged() {
        let v = serde_json::json!({"AgentRegistered": {"max_concurrent": 3}});
        assert_eq!(upcast("AgentRegistered", "1.0", v.clone()), v);
    }
}
