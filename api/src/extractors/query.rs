//! Query strings, read like bodies: the parse error waits for the handler.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use kartel_domain::FieldError;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

/// A query string of `T`. Like [`super::JsonBody`], its extraction never
/// fails: actix polls a handler's extractors together, so a malformed query
/// could otherwise answer 422 before `Authorized` answered 403. The handler
/// reads it with `into_inner()?` once every other extractor has succeeded.
pub struct Query<T>(ApiResult<T>);

impl<T> Query<T> {
    pub fn into_inner(self) -> ApiResult<T> {
        self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = web::Query::<T>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .map_err(|e| query_error(&e));
        ready(Ok(Query(parsed)))
    }
}

/// A query string that does not parse: 422 naming `query`.
pub fn query_error(e: &impl std::fmt::Display) -> ApiError {
    ApiError::validation(vec![FieldError::new("query", e.to_string())])
}
