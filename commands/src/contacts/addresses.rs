//! Contact addresses: add, replace, remove.

use domain::contact::{AddressInput, ContactCommand};
use uuid::Uuid;

use crate::contacts::references;
use crate::context::CommandContext;
use crate::error::CommandResult;
use crate::store::execute;
use crate::Commands;

/// Adds an address; returns its new id.
pub async fn add_address(
    c: &Commands,
    ctx: &CommandContext,
    contact_id: Uuid,
    input: AddressInput,
) -> CommandResult<Uuid> {
    references::visible_contact_account(&c.pool, &ctx.actor, contact_id).await?;
    let address_id = Uuid::new_v4();
    execute(
        &c.contacts,
        contact_id,
        ContactCommand::AddAddress {
            address_id,
            input,
            at: ctx.now,
        },
        ctx,
    )
    .await?;
    Ok(address_id)
}

pub async fn update_address(
    c: &Commands,
    ctx: &CommandContext,
    contact_id: Uuid,
    address_id: Uuid,
    input: AddressInput,
) -> CommandResult<()> {
    references::visible_contact_account(&c.pool, &ctx.actor, contact_id).await?;
    execute(
        &c.contacts,
        contact_id,
        ContactCommand::UpdateAddress {
            address_id,
            input,
            at: ctx.now,
        },
        ctx,
    )
    .await
}

pub async fn remove_address(
    c: &Commands,
    ctx: &CommandContext,
    contact_id: Uuid,
    address_id: Uuid,
) -> CommandResult<()> {
    references::visible_contact_account(&c.pool, &ctx.actor, contact_id).await?;
    execute(
        &c.contacts,
        contact_id,
        ContactCommand::RemoveAddress {
            address_id,
            at: ctx.now,
        },
        ctx,
    )
    .await
}
