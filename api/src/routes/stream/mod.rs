//! The live stream (Server-Sent Events) and its tickets for browsers.

pub mod open;
pub mod tickets;
