//! `registerContact` (item 2): check references, claim the phone's routing key, write
//! ContactRegistered; the claim is released when the domain refuses.

use chrono_tz::Tz;
use domain::contact::{AddressInput, ContactCommand, ContactInput};
use domain::values::Phone;
use uuid::Uuid;

use crate::contacts::{phone_keys, references};
use crate::context::CommandContext;
use crate::error::CommandResult;
use crate::store::execute;
use crate::Commands;

/// Registers a contact; returns its id. `addresses` get new ids here.
pub async fn register_contact(
    c: &Commands,
    ctx: &CommandContext,
    account_id: Uuid,
    mut input: ContactInput,
    addresses: Vec<AddressInput>,
) -> CommandResult<Uuid> {
    references::require_account_visible(&c.pool, &ctx.actor, account_id).await?;
    let refs = references::check(
        &c.pool,
        account_id,
        Some(&input.tag_ids),
        input.classification_id,
        input.portfolio_agent_id,
    )
    .await?;
    input.addresses = addresses.into_iter().map(|a| (Uuid::new_v4(), a)).collect();
    let contact_id = Uuid::new_v4();
    let key = input
        .phone
        .as_ref()
        .and_then(|p| Phone::parse(&p.ddi, &p.number).ok())
        .map(|p| p.routing_key());
    let mut phone_taken_by = None;
    if let Some(key) = &key {
        phone_taken_by = phone_keys::claim(c, account_id, key, contact_id, ctx.now).await?;
    }
    let today = local_today(c, account_id, ctx).await?;
    let command = ContactCommand::RegisterContact {
        contact_id,
        account_id,
        input,
        refs,
        phone_taken_by,
        today,
        at: ctx.now,
    };
    if let Err(e) = execute(&c.contacts, contact_id, command, ctx).await {
        if let (Some(key), None) = (&key, phone_taken_by) {
            phone_keys::release(&c.pool, account_id, key, contact_id).await?;
        }
        return Err(e);
    }
    Ok(contact_id)
}

/// Today in the account's time zone (birth dates may not be in the future there).
pub async fn local_today(
    c: &Commands,
    account_id: Uuid,
    ctx: &CommandContext,
) -> CommandResult<chrono::NaiveDate> {
    let tz: Option<String> = sqlx::query_scalar("SELECT timezone FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(&c.pool)
        .await?;
    let tz: Tz = tz
        .and_then(|t| t.parse().ok())
        .unwrap_or(chrono_tz::America::Sao_Paulo);
    Ok(ctx.now.with_timezone(&tz).date_naive())
}
