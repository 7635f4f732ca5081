//! CatalogueQuery: the catalogue as the panel reads it — accounts, services, pause reasons,
//! classifications, tags, templates and the panel settings. Any authenticated caller (agents of
//! every role, and integration tokens, whose gateways and flows need accounts, services and
//! templates); lists are ordered by name.

use async_graphql::{Context, Object};
use commands::admin::{
    accounts, classifications, pause_reasons, services, settings, tags, templates,
};
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

#[derive(Default)]
pub struct CatalogueQuery;

#[Object]
impl CatalogueQuery {
    async fn settings(&self, ctx: &Context<'_>) -> ApiResult<AgentPanelSettings> {
        auth::actor(ctx)?;
        Ok(settings::get(pool(ctx)).await.gql()?.into())
    }

    async fn accounts(&self, ctx: &Context<'_>) -> ApiResult<Vec<Account>> {
        auth::actor(ctx)?;
        Ok(accounts::list(pool(ctx))
            .await
            .gql()?
            .into_iter()
            .map(Account::from)
            .collect())
    }

    /// The services of one account, or of all accounts.
    async fn services(
        &self,
        ctx: &Context<'_>,
        account_id: Option<Uuid>,
    ) -> ApiResult<Vec<Service>> {
        auth::actor(ctx)?;
        Ok(services::list(pool(ctx), account_id)
            .await
            .gql()?
            .into_iter()
            .map(Service::from)
            .collect())
    }

    async fn pause_reasons(&self, ctx: &Context<'_>) -> ApiResult<Vec<PauseReason>> {
        auth::actor(ctx)?;
        Ok(pause_reasons::list(pool(ctx))
            .await
            .gql()?
            .into_iter()
            .map(PauseReason::from)
            .collect())
    }

    async fn classifications(
        &self,
        ctx: &Context<'_>,
        account_id: Uuid,
    ) -> ApiResult<Vec<Classification>> {
        auth::actor(ctx)?;
        Ok(classifications::list(pool(ctx), account_id)
            .await
            .gql()?
            .into_iter()
            .map(Classification::from)
            .collect())
    }

    async fn tags(&self, ctx: &Context<'_>, account_id: Uuid) -> ApiResult<Vec<Tag>> {
        auth::actor(ctx)?;
        Ok(tags::list(pool(ctx), account_id)
            .await
            .gql()?
            .into_iter()
            .map(Tag::from)
            .collect())
    }

    async fn templates(
        &self,
        ctx: &Context<'_>,
        account_id: Uuid,
        channel: ChannelType,
    ) -> ApiResult<Vec<Template>> {
        auth::actor(ctx)?;
        Ok(templates::list(pool(ctx), account_id, channel.into())
            .await
            .gql()?
            .into_iter()
            .map(Template::from)
            .collect())
    }
}
