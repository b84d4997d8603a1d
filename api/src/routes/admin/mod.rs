//! Admin: people's roles and status, service API keys, the audit log, the
//! ledger check.

pub mod audit_log;
pub mod create_api_key;
pub mod erase_user;
pub mod get_api_key;
pub mod ledger_check;
pub mod list_api_keys;
pub mod revoke_api_key;
pub mod update_user;
