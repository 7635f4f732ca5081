//! Which agents have a websocket open on this server process: the live-connection indicator.
//! (Sharing it across instances is part of the real-time work; here it is per process.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

/// Open websocket counts per agent.
#[derive(Clone, Default)]
pub struct Connections(Arc<Mutex<HashMap<Uuid, usize>>>);

impl Connections {
    pub fn is_connected(&self, agent_id: Uuid) -> bool {
        self.0.lock().map(|m| m.get(&agent_id).copied().unwrap_or(0) > 0).unwrap_or(false)
    }

    /// Counts a socket as open until the guard drops.
    pub fn open(&self, agent_id: Uuid) -> ConnectionGuard {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(agent_id).or_default() += 1;
        }
        ConnectionGuard { connections: self.clone(), agent_id }
    }
}

/// Closes the count of one socket when dropped.
pub struct ConnectionGuard {
    connections: Connections,
    agent_id: Uuid,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = self.connections.0.lock() {
            if let Some(n) = m.get_mut(&self.agent_id) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    m.remove(&self.agent_id);
                }
            }
        }
    }
}
