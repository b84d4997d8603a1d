//! Webhooks (admin): endpoints, their secrets, test messages, attempts,
//! recovery and resends. What is sent is described by the OpenAPI
//! document's `webhooks` and `GET /event-types`.

pub mod create_endpoint;
pub mod delete_endpoint;
pub mod get_endpoint;
pub mod list_attempts;
pub mod list_endpoints;
pub mod recover;
pub mod resend_message;
pub mod rotate_secret;
pub mod test_endpoint;
pub mod update_endpoint;
