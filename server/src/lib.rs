//! The Clearview process: the HTTP server (pages rendered with Leptos, server functions, the REST API), the CLI, the
//! embedded PostgreSQL launcher and telemetry. `main.rs` only parses the command line and calls in here.

pub mod api;
pub mod assets;
pub mod config;
pub mod embedded_pg;
pub mod limits;
pub mod live;
pub mod mailbox;
pub mod security;
pub mod seed;
pub mod session_store;
pub mod sign_in;
pub mod telemetry;
pub mod web;
