//! Webhooks and events out: deliveries as a receiver sees them, managing
//! endpoints, and the pulled feed and catalogue.

mod delivery;
mod endpoints;
mod feed;
