//! agent-panel application.
