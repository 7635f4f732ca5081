//! `changeImage`: only while the settings allow it.

use domain::agent::{AgentCommand, ChangeAgentImage, ImageRef};
use uuid::Uuid;

use crate::agents::lookup::self_service_settings;
use crate::context::CommandContext;
use crate::error::CommandResult;
use crate::files::StoredFile;
use crate::store::execute;
use crate::Commands;

pub async fn change_image(
    c: &Commands,
    ctx: &CommandContext,
    agent_id: Uuid,
    file: StoredFile,
) -> CommandResult<()> {
    let (_, allowed) = self_service_settings(&c.pool).await?;
    let image = ImageRef {
        sha256: file.sha256,
        content_type: file.content_type,
        size: file.size,
    };
    let command = AgentCommand::ChangeImage(ChangeAgentImage {
        image,
        allowed_by_settings: allowed,
        at: ctx.now,
    });
    execute(&c.agents, agent_id, command, ctx).await
}
