//! `updateContact` (item 3): absent fields stay, null clears; a changed phone claims its new
//! routing key and releases the old one once the change is written.

use domain::contact::{ContactCommand, ContactPatch};
use domain::values::{Patch, Phone};
use uuid::Uuid;

use crate::contacts::register::local_today;
use crate::contacts::{phone_keys, references, stream};
use crate::context::CommandContext;
use crate::error::CommandResult;
use crate::store::execute;
use crate::Commands;

pub async fn update_contact(
    c: &Commands,
    ctx: &CommandContext,
    contact_id: Uuid,
    patch: ContactPatch,
    expected_version: Option<i64>,
) -> CommandResult<()> {
    let account_id = references::visible_contact_account(&c.pool, &ctx.actor, contact_id).await?;
    let tags = match &patch.tag_ids {
        Patch::Set(ids) => Some(ids.as_slice()),
        _ => None,
    };
    let classification = match &patch.classification_id {
        Patch::Set(id) => Some(*id),
        _ => None,
    };
    let portfolio = match &patch.portfolio_agent_id {
        Patch::Set(id) => Some(*id),
        _ => None,
    };
    let refs = references::check(&c.pool, account_id, tags, classification, portfolio).await?;
    // From the events: a lagging read model could show a phone the contact no longer routes by
    // and skip claiming it back.
    let old_key = stream::load(c, contact_id).await?.routing_key();
    let new_key = match &patch.phone {
        Patch::Set(p) => Phone::parse(&p.ddi, &p.number)
            .ok()
            .map(|p| p.routing_key()),
        _ => None,
    };
    let mut phone_taken_by = None;
    let mut claimed = false;
    if let Some(key) = new_key.as_ref().filter(|k| Some(*k) != old_key.as_ref()) {
        phone_taken_by = phone_keys::claim(c, account_id, key, contact_id, ctx.now).await?;
        claimed = phone_taken_by.is_none();
    }
    let today = local_today(c, account_id, ctx).await?;
    let phone_cleared = matches!(patch.phone, Patch::Clear);
    let command = ContactCommand::UpdateContact {
        patch,
        refs,
        phone_taken_by,
        expected_version,
        today,
        at: ctx.now,
    };
    let result = execute(&c.contacts, contact_id, command, ctx).await;
    match (&result, claimed) {
        (Err(_), true) => {
            if let Some(key) = &new_key {
                phone_keys::release(&c.pool, account_id, key, contact_id).await?;
            }
        }
        (Ok(()), _) if claimed || phone_cleared => {
            if let Some(old) = &old_key {
                phone_keys::release(&c.pool, account_id, old, contact_id).await?;
            }
        }
        _ => {}
    }
    result
}
