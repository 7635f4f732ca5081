//! Contract types: catalogue — `Account`, `Service`, `Tag`, `Classification`, `Template`,
//! `PauseReason`, `AgentPanelSettings`, and the `ChannelType` and `Role` enums, each built from
//! the rows of [`commands::admin`].

use async_graphql::{ComplexObject, Context, Enum, SimpleObject};
use commands::admin::classifications::{self, ClassificationRow};
use commands::admin::settings::{self, SettingsRow};
use commands::admin::tags::{self, TagRow};
use commands::admin::{accounts, pause_reasons, services, templates};
use commands::CommandError;
use domain::kinds;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{gql, ApiResult, IntoGql};
use crate::state::ApiState;

fn pool<'a>(ctx: &'a Context<'_>) -> &'a PgPool {
    ctx.data_unchecked::<ApiState>().pool()
}

// ---------------------------------------------------------------- enums

/// The contract's `ChannelType`, mirroring [`kinds::ChannelType`].
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[graphql(name = "ChannelType")]
pub enum ChannelType {
    WhatsappBusinessApi,
    Whatsapp,
    Webchat,
    Email,
    Telegram,
    Instagram,
    FacebookMessenger,
    Sms,
}

impl From<kinds::ChannelType> for ChannelType {
    fn from(c: kinds::ChannelType) -> Self {
        use kinds::ChannelType as K;
        match c {
            K::WhatsappBusinessApi => Self::WhatsappBusinessApi,
            K::Whatsapp => Self::Whatsapp,
            K::Webchat => Self::Webchat,
            K::Email => Self::Email,
            K::Telegram => Self::Telegram,
            K::Instagram => Self::Instagram,
            K::FacebookMessenger => Self::FacebookMessenger,
            K::Sms => Self::Sms,
        }
    }
}

impl From<ChannelType> for kinds::ChannelType {
    fn from(c: ChannelType) -> Self {
        use ChannelType as G;
        match c {
            G::WhatsappBusinessApi => Self::WhatsappBusinessApi,
            G::Whatsapp => Self::Whatsapp,
            G::Webchat => Self::Webchat,
            G::Email => Self::Email,
            G::Telegram => Self::Telegram,
            G::Instagram => Self::Instagram,
            G::FacebookMessenger => Self::FacebookMessenger,
            G::Sms => Self::Sms,
        }
    }
}

/// The contract's `Role`: the roles of agents. [`kinds::Role::Integration`] is not one of them
/// (integration tokens are not agents), so the conversion from the domain is `TryFrom`.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[graphql(name = "Role")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl From<Role> for kinds::Role {
    fn from(r: Role) -> Self {
        match r {
            Role::Agent => Self::Agent,
            Role::Supervisor => Self::Supervisor,
            Role::Admin => Self::Admin,
        }
    }
}

impl Role {
    /// The role as stored (`AGENT`, `SUPERVISOR`, `ADMIN`); anything else shows as AGENT, the
    /// least privileged.
    pub fn from_stored(s: &str) -> Self {
        kinds::Role::parse(s)
            .and_then(|r| Self::try_from(r).ok())
            .unwrap_or(Self::Agent)
    }
}

impl TryFrom<kinds::Role> for Role {
    /// INTERNAL: an agent never has the INTEGRATION role.
    type Error = CommandError;

    fn try_from(r: kinds::Role) -> Result<Self, CommandError> {
        match r {
            kinds::Role::Agent => Ok(Self::Agent),
            kinds::Role::Supervisor => Ok(Self::Supervisor),
            kinds::Role::Admin => Ok(Self::Admin),
            kinds::Role::Integration => Err(CommandError::Internal(anyhow::anyhow!(
                "INTEGRATION is not an agent role"
            ))),
        }
    }
}

// ---------------------------------------------------------------- objects

#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Account {
    pub id: Uuid,
    pub name: String,
    /// IANA time zone name; the account-local day of counters.
    pub timezone: String,
    #[graphql(skip)]
    pub default_service_id: Option<Uuid>,
}

#[ComplexObject]
impl Account {
    /// Where inbound attendances go when the gateway names no service.
    async fn default_service(&self, ctx: &Context<'_>) -> ApiResult<Option<Service>> {
        let Some(id) = self.default_service_id else {
            return Ok(None);
        };
        Ok(services::get(pool(ctx), id).await.gql()?.map(Service::from))
    }
}

impl From<accounts::AccountRow> for Account {
    fn from(r: accounts::AccountRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            timezone: r.timezone,
            default_service_id: r.default_service_id,
        }
    }
}

impl Account {
    /// The account `id`, if it exists.
    pub async fn find(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Self>> {
        Ok(accounts::get(pool(ctx), id).await.gql()?.map(Self::from))
    }

    /// The account `id`, or NOT_FOUND (for the contract's non-null references).
    pub async fn load(ctx: &Context<'_>, id: Uuid) -> ApiResult<Self> {
        Self::find(ctx, id)
            .await?
            .ok_or_else(|| gql(CommandError::not_found("account")))
    }
}

#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Service {
    pub id: Uuid,
    #[graphql(skip)]
    pub account_id: Uuid,
    pub name: String,
    /// Finalizing an attendance of this service requests the satisfaction survey.
    pub survey_enabled: bool,
}

#[ComplexObject]
impl Service {
    async fn account(&self, ctx: &Context<'_>) -> ApiResult<Account> {
        Account::load(ctx, self.account_id).await
    }
}

impl From<services::ServiceRow> for Service {
    fn from(r: services::ServiceRow) -> Self {
        Self {
            id: r.id,
            account_id: r.account_id,
            name: r.name,
            survey_enabled: r.survey_enabled,
        }
    }
}

impl Service {
    /// The service `id`, if it exists.
    pub async fn find(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Self>> {
        Ok(services::get(pool(ctx), id).await.gql()?.map(Self::from))
    }

    /// The service `id`, or NOT_FOUND (for the contract's non-null references).
    pub async fn load(ctx: &Context<'_>, id: Uuid) -> ApiResult<Self> {
        Self::find(ctx, id)
            .await?
            .ok_or_else(|| gql(CommandError::not_found("service")))
    }

    /// The services among `ids` that exist, by name.
    pub async fn load_many(ctx: &Context<'_>, ids: &[Uuid]) -> ApiResult<Vec<Self>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(services::get_many(pool(ctx), ids)
            .await
            .gql()?
            .into_iter()
            .map(Self::from)
            .collect())
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Tag {
    pub id: Uuid,
    #[graphql(skip)]
    pub account_id: Uuid,
    pub name: String,
    /// `#RRGGBB`.
    pub color: Option<String>,
}

impl Tag {
    /// The tags among `ids` that exist, by name (a contact's tags).
    pub async fn load_many(ctx: &Context<'_>, ids: &[Uuid]) -> ApiResult<Vec<Self>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(tags::get_many(pool(ctx), ids)
            .await
            .gql()?
            .into_iter()
            .map(Self::from)
            .collect())
    }
}

impl From<TagRow> for Tag {
    fn from(r: TagRow) -> Self {
        Self {
            id: r.id,
            account_id: r.account_id,
            name: r.name,
            color: r.color,
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Classification {
    pub id: Uuid,
    #[graphql(skip)]
    pub account_id: Uuid,
    pub name: String,
}

impl Classification {
    /// The classification `id`, if it exists.
    pub async fn load(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Self>> {
        Ok(classifications::get(pool(ctx), id)
            .await
            .gql()?
            .map(Self::from))
    }
}

impl From<ClassificationRow> for Classification {
    fn from(r: ClassificationRow) -> Self {
        Self {
            id: r.id,
            account_id: r.account_id,
            name: r.name,
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Template {
    pub id: Uuid,
    #[graphql(skip)]
    pub account_id: Uuid,
    pub channel: ChannelType,
    pub name: String,
    pub language: String,
    /// Body with {{1}}, {{2}}... placeholders.
    pub body: String,
    pub variable_count: i32,
}

#[ComplexObject]
impl Template {
    async fn account(&self, ctx: &Context<'_>) -> ApiResult<Account> {
        Account::load(ctx, self.account_id).await
    }
}

impl From<templates::TemplateRow> for Template {
    fn from(r: templates::TemplateRow) -> Self {
        Self {
            id: r.id,
            account_id: r.account_id,
            channel: r.channel.into(),
            name: r.name,
            language: r.language,
            body: r.body,
            variable_count: r.variable_count,
        }
    }
}

impl Template {
    /// The template `id`, if it exists.
    pub async fn find(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Self>> {
        Ok(templates::get(pool(ctx), id).await.gql()?.map(Self::from))
    }

    /// The template `id`, or NOT_FOUND (for the contract's non-null references).
    pub async fn load(ctx: &Context<'_>, id: Uuid) -> ApiResult<Self> {
        Self::find(ctx, id)
            .await?
            .ok_or_else(|| gql(CommandError::not_found("template")))
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct PauseReason {
    pub id: Uuid,
    pub name: String,
}

impl From<pause_reasons::PauseReasonRow> for PauseReason {
    fn from(r: pause_reasons::PauseReasonRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
        }
    }
}

impl PauseReason {
    /// The pause reason `id`, if it exists.
    pub async fn load(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Self>> {
        Ok(pause_reasons::get(pool(ctx), id)
            .await
            .gql()?
            .map(Self::from))
    }

    /// The pause reason `id`, or NOT_FOUND.
    pub async fn require(ctx: &Context<'_>, id: Uuid) -> ApiResult<Self> {
        Self::load(ctx, id)
            .await?
            .ok_or_else(|| gql(CommandError::not_found("pause reason")))
    }
}

#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct AgentPanelSettings {
    pub show_statistics: bool,
    pub allow_image_change: bool,
    pub allow_password_change: bool,
}

impl AgentPanelSettings {
    pub async fn load(ctx: &Context<'_>) -> ApiResult<Self> {
        Ok(settings::get(pool(ctx)).await.gql()?.into())
    }
}

impl From<SettingsRow> for AgentPanelSettings {
    fn from(r: SettingsRow) -> Self {
        Self {
            show_statistics: r.show_statistics,
            allow_image_change: r.allow_image_change,
            allow_password_change: r.allow_password_change,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_types_convert_both_ways_for_every_value() {
        for &k in kinds::ChannelType::ALL {
            assert_eq!(kinds::ChannelType::from(ChannelType::from(k)), k);
        }
    }

    #[test]
    fn roles_convert_both_ways_except_integration() {
        for &k in kinds::Role::ALL {
            match Role::try_from(k) {
                Ok(r) => assert_eq!(kinds::Role::from(r), k),
                Err(_) => assert_eq!(k, kinds::Role::Integration),
            }
        }
    }
}
