//! Attendance queries: one attendance (items 4, 6), the pending list and its shortcut count
//! (items 6, 7), my attendances in progress, a contact's history (item 4), the customer finder
//! (item 13) and the WhatsApp window (item 5).

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};
use commands::attendances::visibility;
use commands::contacts::references;
use commands::CommandError;
use domain::kinds::ChannelType;
use projections::attendances::read::{self, Page};
use uuid::Uuid;

use crate::auth;
use crate::error::{gql, internal, ApiResult, IntoGql};
use crate::state::ApiState;
use crate::types::attendance::{Attendance, AttendanceConnection, WhatsappWindow};
use crate::types::connection::{decode_cursor, page_size};

/// Default page of the agent's own lists (the contract's default).
const DEFAULT_OWN_PAGE: i32 = 50;

/// Default page of history and search (the contract's default).
const DEFAULT_SEARCH_PAGE: i32 = 20;

/// Checks `first` and decodes `after` into a page request.
fn page(first: Option<i32>, default: i32, after: Option<&str>) -> ApiResult<Page> {
    let first = page_size(first.unwrap_or(default))?;
    let after: Option<(DateTime<Utc>, Uuid)> =
        after.map(|c| decode_cursor("after", c)).transpose()?;
    Ok(Page { first, after })
}

#[derive(Default)]
pub struct AttendancesQuery;

#[Object]
impl AttendancesQuery {
    /// One attendance; NOT_FOUND when it is not visible to the caller.
    async fn attendance(&self, ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Attendance>> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        visibility::require_visible(state.pool(), &actor, id)
            .await
            .gql()?;
        Attendance::load(ctx, id).await
    }

    /// Item 6 and 7: PENDING with me, last interaction first; totalCount is the shortcut's number.
    async fn pending_attendances(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<AttendanceConnection> {
        let (me, _, _) = auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let page = page(first, DEFAULT_OWN_PAGE, after.as_deref())?;
        let (rows, total) = read::pending(state.pool(), me, search.as_deref(), &page)
            .await
            .map_err(internal)?;
        Ok(AttendanceConnection::from_page(
            rows,
            total,
            page.first,
            page.after.is_some(),
            |a| a.last_interaction_at,
        ))
    }

    /// IN_PROGRESS with me, last interaction first.
    async fn my_attendances(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<AttendanceConnection> {
        let (me, _, _) = auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let page = page(first, DEFAULT_OWN_PAGE, after.as_deref())?;
        let (rows, total) = read::in_progress(state.pool(), me, &page)
            .await
            .map_err(internal)?;
        Ok(AttendanceConnection::from_page(
            rows,
            total,
            page.first,
            page.after.is_some(),
            |a| a.last_interaction_at,
        ))
    }

    /// Item 4: every attendance of the contact, newest first.
    async fn contact_history(
        &self,
        ctx: &Context<'_>,
        contact_id: Uuid,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<AttendanceConnection> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let page = page(first, DEFAULT_SEARCH_PAGE, after.as_deref())?;
        references::visible_contact_account(state.pool(), &actor, contact_id)
            .await
            .gql()?;
        let (rows, total) = read::contact_history(state.pool(), contact_id, &page)
            .await
            .map_err(internal)?;
        Ok(AttendanceConnection::from_page(
            rows,
            total,
            page.first,
            page.after.is_some(),
            |a| a.opened_at,
        ))
    }

    /// Item 13: by contact name, CPF/CNPJ or phone, among the attendances I may see.
    async fn find_attendances(
        &self,
        ctx: &Context<'_>,
        search: String,
        #[graphql(default_with = "Some(false)")] include_finalized: Option<bool>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<AttendanceConnection> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let page = page(first, DEFAULT_SEARCH_PAGE, after.as_deref())?;
        if search.trim().is_empty() {
            return Err(gql(CommandError::field("search", "is required")));
        }
        let scope = visibility::scope(state.pool(), &actor).await.gql()?;
        let (rows, total) = read::find(
            state.pool(),
            &scope,
            &search,
            include_finalized.unwrap_or(false),
            &page,
        )
        .await
        .map_err(internal)?;
        Ok(AttendanceConnection::from_page(
            rows,
            total,
            page.first,
            page.after.is_some(),
            |a| a.last_interaction_at,
        ))
    }

    /// Item 5: whether free text may open a WhatsApp Business API attendance now.
    async fn whatsapp_window(
        &self,
        ctx: &Context<'_>,
        account_id: Uuid,
        contact_id: Uuid,
    ) -> ApiResult<WhatsappWindow> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        references::require_account_visible(state.pool(), &actor, account_id)
            .await
            .gql()?;
        let contact_account = references::visible_contact_account(state.pool(), &actor, contact_id)
            .await
            .gql()?;
        if contact_account != account_id {
            return Err(gql(CommandError::not_found("contact")));
        }
        let last = read::last_inbound(
            state.pool(),
            account_id,
            contact_id,
            ChannelType::WhatsappBusinessApi,
        )
        .await
        .map_err(internal)?;
        Ok(WhatsappWindow::at(last, state.clock().now()))
    }
}
