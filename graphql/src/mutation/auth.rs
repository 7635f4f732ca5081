//! AuthMutation: fields of this area.

use async_graphql::Object;

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Placeholder until the area's fields land.
    async fn _authmutation(&self) -> bool {
        true
    }
}
