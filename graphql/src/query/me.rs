//! MeQuery: fields of this area.

use async_graphql::Object;

#[derive(Default)]
pub struct MeQuery;

#[Object]
impl MeQuery {
    /// Placeholder until the area's fields land.
    async fn _mequery(&self) -> bool {
        true
    }
}
