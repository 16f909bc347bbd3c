//! The service layer against a real PostgreSQL, one fresh database per test: one test binary, one harness
//! (`common`), a module per area.

mod common;
mod crm;
mod identity;
mod jobs;
mod search;
mod team;
mod tenancy;
