//! Contract types: agent.
