//! Webhooks: events sent out to the endpoints admins register, by the
//! Standard Webhooks 1.0 spec, at least once and never on a request's path.
//!
//! The dispatcher ([`dispatch`]; any instance, one at a time) goes forward
//! through the events by position from its cursor and, in one transaction,
//! writes a message per event some enabled endpoint wants (id = the
//! event's id, the body its thin outward form, `events::public`), a
//! delivery per message and endpoint, and the cursor's new place. The
//! API's delivery workers (every instance) lease due deliveries
//! ([`lease_due`]), sign and POST them, and record each attempt
//! ([`record`]): delivered, retried on the schedule, or failed; a 410
//! disables the endpoint, and so does a failure streak of days (the admins
//! are mailed). Rooms: `endpoints` (registration, secrets), `dispatch`,
//! `deliveries` (leases, outcomes, retries), `messages` (what admins ask
//! of messages: a test, a resend, a recovery, the attempts), `signature`,
//! `address` (which URLs and addresses deliveries may reach).

mod address;
mod deliveries;
mod dispatch;
mod endpoints;
mod messages;
mod signature;

pub use address::{MAX_URL, Reach, parse_url, refused};
pub use deliveries::{Answer, Due, Recorded, RetryPolicy, lease_due, record};
pub use dispatch::{Dispatched, dispatch, prune};
pub use endpoints::{
    DisabledReason, Endpoint, EndpointChange, EndpointSpec, EndpointWithSecret,
    ROTATION_OVERLAP_HOURS, create, delete, get, list, rotate_secret, update,
};
pub use messages::{
    Attempt, Queued, RECOVER_MAX_DAYS, TEST_TYPE, TestData, TestSent, attempts, recover, resend,
    send_test,
};
pub use signature::{SECRET_PREFIX, header as signature_header, new_secret, sign};

use sea_orm::Iterable;

use crate::events::EventKind;

/// The kind a dotted name names.
pub fn kind_named(name: &str) -> Option<EventKind> {
    EventKind::iter().find(|k| k.as_str() == name)
}
