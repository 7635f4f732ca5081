//! A contact as its events left it, read from the event store (the source of truth) rather than
//! the contacts read model, which may lag behind or be stalled: for decisions that must never
//! rest on a stale copy, such as who holds a phone's routing key.

use domain::contact::Contact;
use uuid::Uuid;

use crate::cache::load_two;
use crate::error::{from_aggregate, CommandError, CommandResult};
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

/// [`load`], when a query just read the stream's last sequence (`None`: it has no events): the
/// cached state at that sequence is taken as is; otherwise the log is read. When the log is read
/// and `attendance` (an id and the sequence of its stream's last event, read by the same query)
/// is not cached at that sequence, its stream is read in the same query into the attendances'
/// cache, so that the command that follows on it needs no load of its own.
pub async fn load_at(
    c: &Commands,
    id: Uuid,
    last_sequence: Option<i64>,
    attendance: Option<(Uuid, Option<i64>)>,
) -> CommandResult<Contact> {
    let sequence = last_sequence.and_then(|s| usize::try_from(s).ok());
    if let Some(contact) = sequence.and_then(|s| c.contact_store.cached_at(&id.to_string(), s)) {
        return Ok(contact);
    }
    let uncached = attendance.filter(|(a, last)| {
        let last = last.and_then(|s| usize::try_from(s).ok());
        !last.is_some_and(|s| c.attendance_store.holds_at(&a.to_string(), s))
    });
    match uncached {
        Some((attendance, _)) => load_two(
            &c.contact_store,
            &id.to_string(),
            &c.attendance_store,
            &attendance.to_string(),
        )
        .await
        .map_err(CommandError::Internal),
        None => load(c, id).await,
    }
}
