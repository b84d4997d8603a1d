//! Certificates: public verification.

pub mod get;
