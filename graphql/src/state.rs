//! What every resolver can reach: the use cases, the projector (read-your-writes), the pool for
//! read-model queries, and the API's own settings.

use std::sync::Arc;

use commands::{Clock, Commands};
use projections::Projector;
use sqlx::PgPool;

use crate::feed::Feed;
use crate::presence::Connections;

/// Limits and secrets of the API layer.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Key signing file URLs (images, attachments), so a browser can load them without a header.
    pub signing_key: Vec<u8>,
    /// How long a signed file URL stays valid.
    pub file_url_ttl: chrono::Duration,
    /// Largest image accepted for a contact or an agent.
    pub max_image_bytes: usize,
    /// Largest attachment accepted.
    pub max_attachment_bytes: usize,
    /// Most files in one request.
    pub max_files: usize,
    /// Proxies whose `X-Forwarded-For` is believed (none: the peer address is the client).
    pub trusted_proxies: Vec<crate::client_address::TrustedProxy>,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            signing_key: commands::tokens::new_token().into_bytes(),
            file_url_ttl: chrono::Duration::hours(1),
            max_image_bytes: crate::limits::MAX_IMAGE_BYTES,
            max_attachment_bytes: crate::limits::MAX_ATTACHMENT_BYTES,
            max_files: crate::limits::MAX_FILES,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Cloneable handle stored in the schema's data and the router's state.
#[derive(Clone)]
pub struct ApiState(Arc<Inner>);

struct Inner {
    commands: Arc<Commands>,
    projector: Projector,
    settings: ApiSettings,
    connections: Connections,
    feed: Feed,
}

impl ApiState {
    pub fn new(commands: Arc<Commands>, projector: Projector, settings: ApiSettings) -> Self {
        Self(Arc::new(Inner {
            commands,
            projector,
            settings,
            connections: Connections::default(),
            feed: Feed::default(),
        }))
    }

    /// The change feed behind subscriptions.
    pub fn feed(&self) -> &Feed {
        &self.0.feed
    }

    /// Starts the feed and the websocket heartbeat (background tasks of this instance).
    pub fn start_realtime(&self) -> Vec<tokio::task::JoinHandle<()>> {
        vec![
            tokio::spawn(self.feed().clone().run(
                self.pool().clone(),
                self.connections().clone(),
                self.projector().readers(),
                self.projector().applied(),
            )),
            tokio::spawn(self.connections().clone().heartbeat(self.pool().clone())),
        ]
    }

    /// Open websockets per agent.
    pub fn connections(&self) -> &Connections {
        &self.0.connections
    }

    pub fn commands(&self) -> &Commands {
        &self.0.commands
    }

    pub fn pool(&self) -> &PgPool {
        &self.0.commands.pool
    }

    pub fn clock(&self) -> &Clock {
        &self.0.commands.clock
    }

    pub fn projector(&self) -> &Projector {
        &self.0.projector
    }

    pub fn settings(&self) -> &ApiSettings {
        &self.0.settings
    }
}
