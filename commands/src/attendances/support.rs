//! What several attendance use cases look up before deciding: the acting person, the protocol
//! number, the contact's WhatsApp window, a template to send, and stored attachments.

use chrono::{DateTime, Utc};
use domain::attendance::{
    rules, Actor as DomainActor, AttachmentRef, OutboundContent, WindowState,
};
use domain::kinds::ChannelType;
use sqlx::PgPool;
use uuid::Uuid;

use crate::admin::{accounts, templates};
use crate::context::{Actor, CommandContext};
use crate::error::{CommandError, CommandResult};
use crate::files::StoredFile;

/// The agent acting, as the aggregate knows it; integrations and the system are refused (they
/// have their own commands and never act as a person).
pub fn person(ctx: &CommandContext) -> CommandResult<DomainActor> {
    match &ctx.actor {
        Actor::Agent { id, role, .. } => Ok(DomainActor {
            agent_id: *id,
            role: *role,
        }),
        _ => Err(CommandError::forbidden("this operation is for agents")),
    }
}

/// The next protocol number of the account-local day of `now` (`20261127-000042`). One counter
/// per date, shared by every account, so protocols are unique across accounts too; the upsert is
/// atomic, so concurrent openings get distinct numbers.
pub async fn next_protocol(
    pool: &PgPool,
    account_id: Uuid,
    now: DateTime<Utc>,
) -> CommandResult<String> {
    let tz = accounts::get(pool, account_id)
        .await?
        .map(|a| a.tz())
        .unwrap_or(chrono_tz::America::Sao_Paulo);
    let day = now.with_timezone(&tz).date_naive();
    let last: i32 = sqlx::query_scalar(
        "INSERT INTO protocol_counters (day, last) VALUES ($1, 1)
         ON CONFLICT (day) DO UPDATE SET last = protocol_counters.last + 1 RETURNING last",
    )
    .bind(day)
    .fetch_one(pool)
    .await?;
    Ok(rules::protocol_number(
        day,
        u32::try_from(last).unwrap_or(u32::MAX),
    ))
}

/// The contact's last inbound message on this account and channel, in any attendance (the
/// WhatsApp window counts from it).
pub async fn window(
    pool: &PgPool,
    account_id: Uuid,
    contact_id: Uuid,
    channel: ChannelType,
) -> CommandResult<WindowState> {
    let last_inbound_at = sqlx::query_scalar(
        "SELECT last_inbound_at FROM contact_windows WHERE account_id = $1 AND contact_id = $2 AND channel = $3",
    )
    .bind(account_id)
    .bind(contact_id)
    .bind(channel.as_str())
    .fetch_optional(pool)
    .await?;
    Ok(WindowState { last_inbound_at })
}

/// An agent's message as the API gives it: exactly one of text or a template.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageInput {
    pub text: Option<String>,
    pub template_id: Option<Uuid>,
    pub template_variables: Option<Vec<String>>,
    pub attachments: Vec<AttachmentRef>,
}

/// Turns the input into the domain's content: the template is loaded and must be one of this
/// account and channel (else VALIDATION on `templateId`, as an unknown one).
pub async fn outbound_content(
    pool: &PgPool,
    account_id: Uuid,
    channel: ChannelType,
    input: &MessageInput,
    field: &str,
) -> CommandResult<OutboundContent> {
    let at = |name: &str| {
        if field.is_empty() {
            name.to_string()
        } else {
            format!("{field}.{name}")
        }
    };
    match (&input.text, input.template_id) {
        (Some(_), Some(_)) | (None, None) => Err(CommandError::field(
            &at("text"),
            "give exactly one of text or templateId",
        )),
        (Some(text), None) => Ok(OutboundContent::Text(text.clone())),
        (None, Some(template_id)) => {
            let template = templates::get(pool, template_id)
                .await?
                .filter(|t| t.account_id == account_id && t.channel == channel)
                .ok_or_else(|| {
                    CommandError::field(
                        &at("templateId"),
                        "is not a template of this account and channel",
                    )
                })?;
            let body = template.template_body().map_err(|e| {
                CommandError::Internal(anyhow::anyhow!("stored template {template_id}: {e}"))
            })?;
            let variables = input.template_variables.clone().unwrap_or_default();
            // The domain checks the values against the body; its paths are relative to the message.
            Ok(OutboundContent::Template {
                template_id,
                body,
                variables,
            })
        }
    }
}

/// Records an uploaded file as an attachment of a message to come; the event names it by the
/// returned id.
pub async fn record_attachment(
    pool: &PgPool,
    file_name: &str,
    file: &StoredFile,
    now: DateTime<Utc>,
) -> CommandResult<AttachmentRef> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO attendance_attachments (id, sha256, file_name, content_type, size, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(&file.sha256)
    .bind(file_name)
    .bind(&file.content_type)
    .bind(i64::try_from(file.size).unwrap_or(i64::MAX))
    .bind(now)
    .execute(pool)
    .await?;
    Ok(AttachmentRef {
        attachment_id: id,
        file_name: file_name.to_string(),
        content_type: file.content_type.clone(),
        size: file.size,
    })
}

/// The stored blob (SHA-256) of each attachment id, for signing their URLs.
pub async fn attachment_blobs(pool: &PgPool, ids: &[Uuid]) -> CommandResult<Vec<(Uuid, String)>> {
    Ok(
        sqlx::query_as("SELECT id, sha256 FROM attendance_attachments WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(pool)
            .await?,
    )
}
