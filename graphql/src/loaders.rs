//! Batch loaders: a page that shows each item's contact asks for all of them in one query
//! instead of one per row. No cache: every request reads the read models as they are now.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use chrono::{DateTime, Utc};
use domain::kinds::ChannelType;
use sqlx::PgPool;
use uuid::Uuid;

/// Contacts by id, from the contacts read model; and, by [`ChannelKey`], when a contact last
/// wrote on a channel, from the attendances read model (`contact_windows`).
pub struct ContactLoader {
    pool: PgPool,
}

impl Loader<Uuid> for ContactLoader {
    type Value = domain::contact::Contact;
    type Error = Arc<anyhow::Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        projections::contacts::read::get_many(&self.pool, keys)
            .await
            .map_err(Arc::new)
    }
}

/// A contact's channel in an account: the key of its last inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelKey {
    pub account_id: Uuid,
    pub contact_id: Uuid,
    pub channel: ChannelType,
}

impl Loader<ChannelKey> for ContactLoader {
    type Value = DateTime<Utc>;
    type Error = Arc<anyhow::Error>;

    async fn load(
        &self,
        keys: &[ChannelKey],
    ) -> Result<HashMap<ChannelKey, Self::Value>, Self::Error> {
        let keys: Vec<_> = keys
            .iter()
            .map(|k| (k.account_id, k.contact_id, k.channel))
            .collect();
        let rows = projections::attendances::read::last_inbound_many(&self.pool, &keys)
            .await
            .map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .map(|((account_id, contact_id, channel), at)| {
                let key = ChannelKey {
                    account_id,
                    contact_id,
                    channel,
                };
                (key, at)
            })
            .collect())
    }
}

/// The contact loader for a schema, batching what resolvers ask for at the same time.
pub fn contacts(pool: PgPool) -> DataLoader<ContactLoader> {
    DataLoader::new(ContactLoader { pool }, tokio::spawn)
}
