//! Looks up what a contact refers to (account, tags, classification, portfolio agent), for the
//! domain to turn into validation errors; and which accounts a caller may see.

use domain::contact::ReferenceCheck;
use sqlx::PgPool;
use uuid::Uuid;

use crate::context::Actor;
use crate::error::{CommandError, CommandResult};

/// Checks the references of a contact in `account_id`.
pub async fn check(
    pool: &PgPool,
    account_id: Uuid,
    tag_ids: Option<&[Uuid]>,
    classification_id: Option<Uuid>,
    portfolio_agent_id: Option<Uuid>,
) -> CommandResult<ReferenceCheck> {
    let account_exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)")
            .bind(account_id)
            .fetch_one(pool)
            .await?;
    let unknown_tag_ids = match tag_ids {
        Some(ids) if !ids.is_empty() => {
            let known: Vec<Uuid> =
                sqlx::query_scalar("SELECT id FROM tags WHERE id = ANY($1) AND account_id = $2")
                    .bind(ids)
                    .bind(account_id)
                    .fetch_all(pool)
                    .await?;
            ids.iter()
                .filter(|id| !known.contains(id))
                .copied()
                .collect()
        }
        _ => Vec::new(),
    };
    let classification_exists = match classification_id {
        Some(id) => Some(
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM classifications WHERE id = $1 AND account_id = $2)",
            )
            .bind(id)
            .bind(account_id)
            .fetch_one(pool)
            .await?,
        ),
        None => None,
    };
    let portfolio_agent_exists = match portfolio_agent_id {
        Some(id) => Some(
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM agents WHERE id = $1)")
                .bind(id)
                .fetch_one(pool)
                .await?,
        ),
        None => None,
    };
    Ok(ReferenceCheck {
        account_exists,
        unknown_tag_ids,
        classification_exists,
        portfolio_agent_exists,
    })
}

/// The accounts a caller may see: `None` means all (administrators, integrations, the system);
/// agents and supervisors see the accounts of the services they belong to.
pub async fn visible_accounts(pool: &PgPool, actor: &Actor) -> CommandResult<Option<Vec<Uuid>>> {
    match actor {
        Actor::Agent { id, role, .. } if *role != domain::kinds::Role::Admin => {
            let ids: Vec<Uuid> = sqlx::query_scalar(
                "SELECT DISTINCT s.account_id FROM agents a JOIN services s ON s.id = ANY(a.service_ids) WHERE a.id = $1",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
            Ok(Some(ids))
        }
        _ => Ok(None),
    }
}

/// NOT_FOUND unless the caller may see `account_id` (an unknown account is NOT_FOUND too).
pub async fn require_account_visible(
    pool: &PgPool,
    actor: &Actor,
    account_id: Uuid,
) -> CommandResult<()> {
    match visible_accounts(pool, actor).await? {
        Some(ids) if !ids.contains(&account_id) => Err(CommandError::not_found("account")),
        _ => Ok(()),
    }
}

/// The account of a contact, if the caller may see it; NOT_FOUND otherwise.
pub async fn visible_contact_account(
    pool: &PgPool,
    actor: &Actor,
    contact_id: Uuid,
) -> CommandResult<Uuid> {
    let account: Option<Uuid> = sqlx::query_scalar("SELECT account_id FROM contacts WHERE id = $1")
        .bind(contact_id)
        .fetch_optional(pool)
        .await?;
    let account = account.ok_or_else(|| CommandError::not_found("contact"))?;
    require_account_visible(pool, actor, account)
        .await
        .map_err(|_| CommandError::not_found("contact"))?;
    Ok(account)
}
