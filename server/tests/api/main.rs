//! The HTTP front door over real HTTP, one fresh database per test: one test binary, one harness (`common`: the real
//! router on a random port and people signed in with each role), a module per area.

mod abuse;
mod assets;
mod auth;
mod common;
pub(crate) mod crm;
mod team;
