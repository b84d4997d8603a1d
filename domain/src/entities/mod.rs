//! sea-orm entities, one per table; behaviour lives in the services beside them.

pub mod api_keys;
pub mod audit_log;
pub mod credit_holds;
pub mod ledger_accounts;
pub mod ledger_transactions;
pub mod sessions;
pub mod users;
