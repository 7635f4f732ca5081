//! A contact as its events left it, read from the event store (the source of truth) rather than
//! the contacts read model, which may lag behind or be stalled: for decisions that must never
//! rest on a stale copy, such as who holds a phone's routing key.

use domain::contact::Contact;
use uuid::Uuid;

use crate::error::{from_aggregate, CommandResult};
use crate::Commands;

/// The contact `id` folded from its events; the default (unregistered) state when it has none.
pub async fn load(c: &Commands, id: Uuid) -> CommandResult<Contact> {
    let mut contexts = c
        .contact_store
        .load_many(&[id.to_string()])
        .await
        .map_err(from_aggregate)?;
    Ok(contexts.pop().map(|c| c.aggregate).unwrap_or_default())
}
