//! `setContactImage`: set (an image already stored by content hash) or clear.

use domain::contact::{ContactCommand, ImageRef};
use uuid::Uuid;

use crate::contacts::references;
use crate::context::CommandContext;
use crate::error::CommandResult;
use crate::files::StoredFile;
use crate::store::execute;
use crate::Commands;

pub async fn set_contact_image(
    c: &Commands,
    ctx: &CommandContext,
    contact_id: Uuid,
    file: Option<StoredFile>,
) -> CommandResult<()> {
    references::visible_contact_account(&c.pool, &ctx.actor, contact_id).await?;
    let image = file.map(|f| ImageRef {
        sha256: f.sha256,
        content_type: f.content_type,
        size: f.size as i64,
    });
    execute(
        &c.contacts,
        contact_id,
        ContactCommand::SetImage { image, at: ctx.now },
        ctx,
    )
    .await
}
