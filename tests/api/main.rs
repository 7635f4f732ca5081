//! The integration tests: one binary, so that they share one build and one test database server.

mod admin;
mod attendances;
mod audit;
mod cache;
mod chat;
mod cli;
mod contact_channels;
mod contact_images;
mod contact_phone_keys;
mod contact_search;
mod contacts;
mod counters;
mod crash;
mod db_smoke;
mod errors;
mod helpers;
mod inbound_phone_claims;
mod inline;
mod login;
mod realtime;
mod routing;
