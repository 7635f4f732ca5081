//! Contact queries (item 3 and item 5's contact finder): `contact`, `contacts`.

use async_graphql::{Context, Object};
use commands::contacts::references;
use commands::CommandError;
use projections::contacts::read::{self, ContactSearch, SearchField};
use uuid::Uuid;

use crate::auth;
use crate::error::{gql, internal, ApiResult, IntoGql};
use crate::state::ApiState;
use crate::types::connection::{decode_cursor, encode_cursor, page_size};
use crate::types::contact::{Contact, ContactConnection, ContactSearchField};

#[derive(Default)]
pub struct ContactsQuery;

#[Object]
impl ContactsQuery {
    /// One contact; NOT_FOUND when it is not visible to the caller.
    async fn contact(&self, ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Contact>> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        references::visible_contact_account(state.pool(), &actor, id)
            .await
            .gql()?;
        Contact::load(ctx, id).await
    }

    /// Item 3 and item 5's contact finder. Accent- and case-insensitive for names;
    /// punctuation-insensitive for documents and phones.
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        account_id: Option<Uuid>,
        #[graphql(default_with = "Some(ContactSearchField::Any)")] field: Option<
            ContactSearchField,
        >,
        search: Option<String>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<ContactConnection> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let first = page_size(first.unwrap_or(20))?;
        let visible = references::visible_accounts(state.pool(), &actor)
            .await
            .gql()?;
        if let (Some(a), Some(v)) = (account_id, &visible) {
            if !v.contains(&a) {
                return Err(gql(CommandError::not_found("account")));
            }
        }
        let after_key: Option<(String, Uuid)> = after
            .as_deref()
            .map(|c| decode_cursor("after", c))
            .transpose()?;
        let field = match field.unwrap_or(ContactSearchField::Any) {
            ContactSearchField::Any => SearchField::Any,
            ContactSearchField::Name => SearchField::Name,
            ContactSearchField::Document => SearchField::Document,
            ContactSearchField::Phone => SearchField::Phone,
            ContactSearchField::Email => SearchField::Email,
            ContactSearchField::RegistrationNumber => SearchField::RegistrationNumber,
        };
        let had_cursor = after_key.is_some();
        let s = ContactSearch {
            visible_accounts: visible,
            account_id,
            field,
            term: search,
            first,
            after: after_key,
        };
        let (rows, total) = read::search(state.pool(), &s).await.map_err(internal)?;
        let rows = rows
            .into_iter()
            .map(|(name, c)| (encode_cursor(&(name, c.id)), Contact(c)))
            .collect();
        Ok(ContactConnection::from_rows(rows, first, had_cursor, total))
    }
}
