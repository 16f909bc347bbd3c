//! Credentials: password hashing, sign-in throttling and signed invitation links.

pub mod password;
pub mod throttle;
pub mod token;
