//! ContactsQuery: fields of this area.

use async_graphql::Object;

#[derive(Default)]
pub struct ContactsQuery;

#[Object]
impl ContactsQuery {
    /// Placeholder until the area's fields land.
    async fn _contactsquery(&self) -> bool {
        true
    }
}
