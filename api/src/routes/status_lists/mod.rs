//! Certificate status lists: public, for verifiers.

pub mod get;
