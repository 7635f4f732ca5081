//! The catalogue the Admin Panel configures: accounts, services, settings, pause reasons, tags, classifications, templates.
