//! Message templates (WhatsApp HSMs): the only messages that may open a WhatsApp Business API
//! conversation once its window is closed. The body's `{{n}}` placeholders are checked by
//! [`TemplateBody`], which also counts them.

use chrono::{DateTime, Utc};
use domain::catalogue::{parse_language, parse_name};
use domain::kinds::ChannelType;
use domain::validation::{FieldError, ValidationErrors};
use domain::values::TemplateBody;
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgExecutor, PgPool, Row};
use uuid::Uuid;

use super::audit::{self, action};
use super::{duplicate, lock_account, require_admin};
use crate::context::CommandContext;
use crate::error::CommandResult;

const COLUMNS: &str =
    "id, account_id, channel, name, language, body, variable_count, created_at, created_by";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRow {
    pub id: Uuid,
    pub account_id: Uuid,
    pub channel: ChannelType,
    pub name: String,
    pub language: String,
    /// With `{{1}}`, `{{2}}`... placeholders.
    pub body: String,
    /// How many values a send must supply.
    pub variable_count: i32,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

impl TemplateRow {
    /// The body as the value type that renders it (bodies are checked when stored).
    pub fn template_body(&self) -> Result<TemplateBody, FieldError> {
        TemplateBody::parse(&self.body)
    }
}

impl<'r> FromRow<'r, PgRow> for TemplateRow {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        let channel: String = row.try_get("channel")?;
        Ok(Self {
            id: row.try_get("id")?,
            account_id: row.try_get("account_id")?,
            channel: ChannelType::parse(&channel).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "channel".into(),
                source: format!("unknown channel {channel:?}").into(),
            })?,
            name: row.try_get("name")?,
            language: row.try_get("language")?,
            body: row.try_get("body")?,
            variable_count: row.try_get("variable_count")?,
            created_at: row.try_get("created_at")?,
            created_by: row.try_get("created_by")?,
        })
    }
}

/// `createTemplate`'s input.
#[derive(Debug, Clone)]
pub struct NewTemplate {
    pub account_id: Uuid,
    pub channel: ChannelType,
    pub name: String,
    pub language: String,
    pub body: String,
}

/// Creates a template (ADMIN). VALIDATION on `name`, `language`, `body` (malformed or gapped
/// placeholders) or `accountId`; CONFLICT when the account has a template of that channel, name
/// and language.
pub async fn create(
    pool: &PgPool,
    ctx: &CommandContext,
    input: NewTemplate,
) -> CommandResult<TemplateRow> {
    require_admin(ctx)?;
    let mut errors = ValidationErrors::default();
    let name = errors.check("name", parse_name(&input.name));
    let language = errors.check("language", parse_language(&input.language));
    let body = errors.check("body", TemplateBody::parse(&input.body));
    errors.into_result()?;
    let (Some(name), Some(language), Some(body)) = (name, language, body) else {
        unreachable!("checked above")
    };
    let variable_count = i32::try_from(body.variable_count()).map_err(anyhow::Error::new)?;

    let mut tx = pool.begin().await?;
    lock_account(&mut tx, input.account_id).await?;
    let row: Option<TemplateRow> = sqlx::query_as(&format!(
        "INSERT INTO templates (id, account_id, channel, name, language, body, variable_count, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(input.account_id)
    .bind(input.channel.as_str())
    .bind(&name)
    .bind(&language)
    .bind(body.as_str())
    .bind(variable_count)
    .bind(ctx.now)
    .bind(ctx.actor.audit_name())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        let existing = sqlx::query_scalar(
            "SELECT id FROM templates
              WHERE account_id = $1 AND channel = $2 AND lower(name) = lower($3) AND language = $4",
        )
        .bind(input.account_id)
        .bind(input.channel.as_str())
        .bind(&name)
        .bind(&language)
        .fetch_optional(&mut *tx)
        .await?;
        return Err(duplicate(
            &format!("a {} template in {language}", input.channel),
            &name,
            existing,
        ));
    };
    audit::record(&mut tx, ctx, action::TEMPLATE_CREATED, Some(row.id), &row).await?;
    tx.commit().await?;
    Ok(row)
}

/// One template, if it exists.
pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> CommandResult<Option<TemplateRow>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM templates WHERE id = $1"))
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// The templates of one account and channel, by name then language.
pub async fn list(
    db: impl PgExecutor<'_>,
    account_id: Uuid,
    channel: ChannelType,
) -> CommandResult<Vec<TemplateRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM templates WHERE account_id = $1 AND channel = $2
          ORDER BY lower(name), name, language, id"
    ))
    .bind(account_id)
    .bind(channel.as_str())
    .fetch_all(db)
    .await?)
}
