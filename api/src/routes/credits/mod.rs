//! Money-moving credit operations. Each needs an `Idempotency-Key` header:
//! a retry with the same key and body gets the first answer again.

pub mod allowance;
pub mod capture;
pub mod create_hold;
pub mod get_hold;
pub mod grant;
pub mod list_allowance_policies;
pub mod release;
pub mod reverse;
pub mod set_allowance_policy;
pub mod spend;
