//! AdminMutation: the contract's administration of the catalogue (ADMIN only) — accounts,
//! services, panel settings, pause reasons, tags, classifications, templates and integration
//! tokens. Agents (`registerAgent`, `updateAgent`) live with the agent mutations.

use async_graphql::{Context, InputObject, Object};
use commands::admin::{
    accounts, classifications, integration_tokens, pause_reasons, services, settings, tags,
    templates,
};
use domain::catalogue::DEFAULT_TIMEZONE;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth;
use crate::error::{ApiResult, IntoGql};
use crate::state::ApiState;
use crate::types::catalogue::{
    Account, AgentPanelSettings, ChannelType, Classification, PauseReason, Service, Tag, Template,
};

fn pool<'a>(ctx: &'a Context<'_>) -> &'a PgPool {
    ctx.data_unchecked::<ApiState>().pool()
}

fn default_timezone() -> Option<String> {
    Some(DEFAULT_TIMEZONE.to_string())
}

#[derive(InputObject)]
pub struct CreateAccountInput {
    pub name: String,
    #[graphql(default_with = "default_timezone()")]
    pub timezone: Option<String>,
}

#[derive(InputObject)]
pub struct CreateServiceInput {
    pub account_id: Uuid,
    pub name: String,
    #[graphql(default_with = "Some(true)")]
    pub survey_enabled: Option<bool>,
    /// Make it the account's default for inbound.
    #[graphql(name = "default", default_with = "Some(false)")]
    pub make_default: Option<bool>,
}

#[derive(InputObject)]
pub struct UpdateSettingsInput {
    pub show_statistics: Option<bool>,
    pub allow_image_change: Option<bool>,
    pub allow_password_change: Option<bool>,
}

#[derive(InputObject)]
pub struct CreateTemplateInput {
    pub account_id: Uuid,
    pub channel: ChannelType,
    pub name: String,
    pub language: String,
    pub body: String,
}

#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    async fn create_account(
        &self,
        ctx: &Context<'_>,
        input: CreateAccountInput,
    ) -> ApiResult<Account> {
        let cc = auth::command_context(ctx, auth::admin(ctx)?);
        // An explicit null means the default too.
        let input = accounts::NewAccount {
            name: input.name,
            timezone: input.timezone.or_else(default_timezone),
        };
        Ok(accounts::create(pool(ctx), &cc, input).await.gql()?.into())
    }

    async fn create_service(
        &self,
        ctx: &Context<'_>,
        input: CreateServiceInput,
    ) -> ApiResult<Service> {
        let cc = auth::command_context(ctx, auth::admin(ctx)?);
        let input = services::NewService {
            account_id: input.account_id,
            name: input.name,
            survey_enabled: input.survey_enabled.unwrap_or(true),
            default: input.make_default.unwrap_or(false),
        };
        Ok(services::create(pool(ctx), &cc, input).await.gql()?.into())
    }

    async fn update_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateSettingsInput,
    ) -> ApiResult<AgentPanelSettings> {
        let cc = auth::command_context(ctx, auth::admin(ctx)?);
        let patch = settings::SettingsPatch {
            show_statistics: input.show_statistics,
            allow_image_change: input.allow_image_change,
            allow_password_change: input.allow_password_change,
        };
        Ok(settings::update(pool(ctx), &cc, patch).await.gql()?.into())
    }

    async fn create_pause_reason(&self, ctx: &Context<'_>, name: String) -> ApiResult<PauseReason> {
        let cc = auth::command_context(ctx, auth::admin(ctx)?);
        Ok(pause_reasons::create(pool(ctx), &cc, &name)
            .await
            .gql()?
            .into())
    }

    async fn create_tag(
        &self,
        ctx: &Context<'_>,
        account_id: Uuid,
        name: String,
        color: Option<String>,
    ) -> ApiResult<Tag> {
        let cc = auth::command_context(ctx, auth::admin(ctx)?);
        let input = tags::NewTag {
            account_id,
            name,
            color,
        };
        Ok(tags::create(pool(ctx), &cc, input).await.gql()?.into())
    }

    async fn create_classification(
        &self,
        ctx: &Context<'_>,
        account_id: Uuid,
        name: String,
    ) -> ApiResult<Classification> {
        let cc = auth::command_context(ctx, auth::admin(ctx)?);
        Ok(classifications::create(pool(ctx), &cc, account_id, &name)
            .await
            .gql()?
            .into())
    }

    async fn create_template(
        &self,
        ctx: &Context<'_>,
        input: CreateTemplateInput,
    ) -> ApiResult<Template> {
        let cc = auth::command_context(ctx, auth::admin(ctx)?);
        let input = templates::NewTemplate {
            account_id: input.account_id,
            channel: input.channel.into(),
            name: input.name,
            language: input.language,
            body: input.body,
        };
        Ok(templates::create(pool(ctx), &cc, input).await.gql()?.into())
    }

    /// Returns the token once; only its hash is stored.
    async fn create_integration_token(&self, ctx: &Context<'_>, name: String) -> ApiResult<String> {
        let cc = auth::command_context(ctx, auth::admin(ctx)?);
        integration_tokens::create(pool(ctx), &cc, &name)
            .await
            .gql()
    }
}
