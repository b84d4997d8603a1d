//! The live stream (Server-Sent Events) and its tickets for browsers;
//! `follow` is one open stream (the instance's hub is `crate::stream`).

pub mod follow;
pub mod open;
pub mod tickets;
