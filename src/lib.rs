//! Clearview CRM: the nouns and rules of the CRM.
//!
//! `domain` and `policy` compile everywhere (the browser validates forms and hides buttons with the same code the server
//! enforces). Behind the `ssr` feature live the database access, the services, the job queue and the credentials code.

pub mod domain;
pub mod error;
pub mod model;
pub mod policy;

#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod services;

pub use error::{Error, FieldErrors, Result};
