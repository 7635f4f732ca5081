//! `changeImage`: only while the settings allow it. The image is stored only then, so an agent
//! the settings forbid writes nothing.

use domain::agent::{AgentCommand, ChangeAgentImage, ImageRef};
use uuid::Uuid;

use crate::agents::lookup::self_service_settings;
use crate::context::CommandContext;
use crate::error::CommandResult;
use crate::files::{store, NewFile, StoredFile};
use crate::store::execute;
use crate::Commands;

pub async fn change_image(
    c: &Commands,
    ctx: &CommandContext,
    agent_id: Uuid,
    file: NewFile,
) -> CommandResult<()> {
    let (_, allowed) = self_service_settings(&c.pool).await?;
    // The domain refuses a forbidden change below; its image must not be stored first.
    let stored = if allowed {
        store(&c.pool, &file.bytes, &file.content_type).await?
    } else {
        StoredFile::describe(&file.bytes, &file.content_type)
    };
    let image = ImageRef {
        sha256: stored.sha256,
        content_type: stored.content_type,
        size: stored.size,
    };
    let command = AgentCommand::ChangeImage(ChangeAgentImage {
        image,
        allowed_by_settings: allowed,
        at: ctx.now,
    });
    execute(&c.agents, agent_id, command, ctx).await
}
