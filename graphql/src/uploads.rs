//! Reading uploads with limits (async-graphql reads them without one): images for contacts and
//! agents are recognised by content and refused past the size limit; the use case stores them
//! once the change they are for may be made.

use std::io::Read;

use async_graphql::{Context, Upload};
use commands::files::NewFile;
use commands::CommandError;

use crate::error::{gql, ApiResult};
use crate::state::ApiState;

/// Reads at most `limit` bytes of an upload; LIMIT_EXCEEDED past it.
pub fn read_limited(
    ctx: &Context<'_>,
    upload: &Upload,
    field: &str,
    limit: usize,
) -> ApiResult<(String, Vec<u8>)> {
    let value = upload.value(ctx).map_err(|e| {
        gql(CommandError::field(
            field,
            &format!("cannot read the upload: {e}"),
        ))
    })?;
    let name = value.filename.clone();
    let mut bytes = Vec::new();
    value
        .into_read()
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| gql(CommandError::Internal(e.into())))?;
    if bytes.len() > limit {
        return Err(gql(CommandError::LimitExceeded(format!(
            "{field} is larger than {limit} bytes"
        ))));
    }
    Ok((name, bytes))
}

/// Reads an image upload: PNG, JPEG or WebP by content, within the image size limit.
pub fn read_image(ctx: &Context<'_>, upload: Upload) -> ApiResult<NewFile> {
    let state = ctx.data_unchecked::<ApiState>();
    let (_, bytes) = read_limited(ctx, &upload, "image", state.settings().max_image_bytes)?;
    let content_type = domain::files::sniff_image(&bytes)
        .filter(|t| domain::files::IMAGE_TYPES.contains(t))
        .ok_or_else(|| {
            gql(CommandError::field(
                "image",
                "must be a PNG, JPEG or WebP image",
            ))
        })?;
    Ok(NewFile {
        bytes,
        content_type: content_type.to_string(),
    })
}
