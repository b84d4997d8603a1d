//! Admin: people's roles and status, service API keys, the audit log, the
//! ledger check.

pub mod audit_log;
pub mod create_api_key;
pub mod get_api_key;
pub mod ledger_check;
pub mod list_api_keys;
pub mod revoke_api_key;
pub mod update_user;

use crate::extractors::Admin;
use kartel_domain::Caller;

fn admin_actor(a: &Admin) -> kartel_domain::caller::Actor {
    Caller::User(a.0.clone()).actor()
}
