//! Batch loaders: a page that shows each item's contact asks for all of them in one query
//! instead of one per row. No cache: every request reads the read models as they are now.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use sqlx::PgPool;
use uuid::Uuid;

/// Contacts by id, from the contacts read model.
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

/// The contact loader for a schema, batching what resolvers ask for at the same time.
pub fn contacts(pool: PgPool) -> DataLoader<ContactLoader> {
    DataLoader::new(ContactLoader { pool }, tokio::spawn)
}
