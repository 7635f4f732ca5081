//! ContactsMutation: fields of this area.

use async_graphql::Object;

#[derive(Default)]
pub struct ContactsMutation;

#[Object]
impl ContactsMutation {
    /// Placeholder until the area's fields land.
    async fn _contactsmutation(&self) -> bool {
        true
    }
}
