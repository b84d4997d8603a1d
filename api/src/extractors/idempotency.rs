use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};

use crate::error::ApiError;

/// The raw `Idempotency-Key` header, if sent; the domain checks and scopes it.
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let v = req
            .headers()
            .get("idempotency-key")
            .map(|v| v.to_str().map(str::to_owned));
        ready(match v {
            None => Ok(Self(None)),
            Some(Ok(s)) => Ok(Self(Some(s))),
            Some(Err(_)) => Err(ApiError::validation(vec![kartel_domain::FieldError::new(
                "Idempotency-Key",
                "must be visible ASCII",
            )])),
        })
    }
}

impl IdempotencyKey {
    pub fn for_caller(
        &self,
        caller: &kartel_domain::Caller,
    ) -> Result<Option<kartel_domain::idempotency::Idempotency>, ApiError> {
        self.0
            .as_deref()
            .map(|k| kartel_domain::idempotency::Idempotency::parse(caller.key_scope(), k))
            .transpose()
            .map_err(ApiError::from)
    }
}
