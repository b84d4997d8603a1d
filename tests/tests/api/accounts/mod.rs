//! Accounts a community can run on: verified addresses, password reset by
//! mail, mail that is never lost, export and erasure.

mod erasure;
mod mail;
mod reset;
mod verification;
