//! `setContactImage`: set (the uploaded image, stored by content hash) or clear. The image is
//! stored only once the caller is known to see the contact.

use domain::contact::{ContactCommand, ImageRef};
use uuid::Uuid;

use crate::contacts::references;
use crate::context::CommandContext;
use crate::error::CommandResult;
use crate::files::{store, NewFile};
use crate::store::execute;
use crate::Commands;

pub async fn set_contact_image(
    c: &Commands,
    ctx: &CommandContext,
    contact_id: Uuid,
    file: Option<NewFile>,
) -> CommandResult<()> {
    references::visible_contact_account(&c.pool, &ctx.actor, contact_id).await?;
    let image = match file {
        Some(f) => {
            let stored = store(&c.pool, &f.bytes, &f.content_type).await?;
            Some(ImageRef {
                sha256: stored.sha256,
                content_type: stored.content_type,
                size: stored.size as i64,
            })
        }
        None => None,
    };
    execute(
        &c.contacts,
        contact_id,
        ContactCommand::SetImage { image, at: ctx.now },
        ctx,
    )
    .await
}
