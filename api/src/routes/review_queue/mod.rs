//! The review queue: managers and admins claim the oldest submission that
//! needs a review from them, under a lease they extend or release; the
//! queue's depth per challenge.

pub mod claim;
pub mod extend;
pub mod list;
pub mod release;
