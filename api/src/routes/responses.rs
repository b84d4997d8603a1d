//! The documented error responses, for `#[utoipa::path(responses(...))]`:
//! each is one status with a `Problem` body and a description. The general
//! ones first, then those particular to some operations.

/// A documented response: `description`, with a `Problem` body.
pub(crate) fn problem_response(
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(Ref::from_schema_name("Problem"))))
                    .build(),
            )
            .build(),
    )
}

macro_rules! problem_responses {
    ($($(#[$doc:meta])* $name:ident => $status:literal, $description:literal;)*) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl utoipa::IntoResponses for $name {
                fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
                    [($status.to_owned(), $crate::routes::responses::problem_response($description))].into()
                }
            }
        )*
    };
}

// The general refusals, any operation's.
problem_responses! {
    BadRequest => "400", "The body is not valid JSON";
    Unauthorized => "401", "Not signed in, or the token or key is invalid, expired or revoked";
    Forbidden => "403", "Signed in, but not allowed to do this";
    NotFound => "404", "No such resource, or not yours to see";
    Conflict => "409", "Conflicts with the current state (taken, insufficient credits, already settled…)";
    Unprocessable => "422", "Invalid fields (see `errors`), or an Idempotency-Key reused with another body";
    TooManyRequests => "429", "Rate limited; retry after `Retry-After` seconds";
}

// Refusals particular to some operations.
problem_responses! {
    /// A GET's query string was refused (a GET has no body and no
    /// `Idempotency-Key`).
    InvalidQuery => "422", "Invalid query parameters (see `errors`): a `limit` outside 1–100, a `cursor` this list did not give out, or a filter of the wrong type";
    /// A body that is not money-moving was refused (no `Idempotency-Key` is involved).
    InvalidBody => "422", "Invalid fields (see `errors`), or a body of the wrong shape (an unknown or missing field, a wrong type)";
    /// The body is larger than `KARTEL_MAX_BODY_BYTES`.
    PayloadTooLarge => "413", "The body is larger than the server accepts (64 KiB by default)";
    /// A JSON body sent without `Content-Type: application/json`.
    UnsupportedMediaType => "415", "The body was not sent as `application/json`";
    /// An operation open to anyone that reads a token when one is sent.
    InvalidToken => "401", "A bearer token was sent but is invalid or expired, or its session has ended (send none to be anonymous)";
    /// A stream opened without a valid token or ticket.
    InvalidTicket => "401", "Not signed in: no valid bearer token, or the `ticket` is unknown, used already or expired (`invalid_ticket`)";
    /// Sign-in refused.
    InvalidCredentials => "401", "The email or password is incorrect (`invalid_credentials`; the same answer for both)";
    /// A refresh token refused.
    InvalidRefreshToken => "401", "The refresh token is unknown or expired (`invalid_refresh_token`), was already used (`refresh_token_reused`: that ends the whole login), or its session has ended (`session_revoked`)";
    /// Sign-in of a suspended account.
    AccountSuspended => "403", "The account is suspended (`account_suspended`)";
    /// A mailed link's token refused, or a body that is not JSON.
    BadLinkToken => "400", "The body is not valid JSON, or the token is wrong, already used or expired (`invalid_token`): ask for a new mail";
    /// Already verified.
    AlreadyVerified => "409", "The address is already verified (`email_already_verified`)";
    /// A wrong password or field (see `errors`).
    InvalidPassword => "422", "Invalid fields (see `errors`; a wrong password names `password`), or a body of the wrong shape";
}
