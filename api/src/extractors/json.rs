//! JSON request bodies: objects only, and every way a body can be wrong as a
//! problem answer (400 not JSON, 413 too large, 415 not JSON's type, 422 the
//! wrong shape naming the field).

use std::future::Future;
use std::pin::Pin;

use actix_web::error::JsonPayloadError;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use kartel_domain::FieldError;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// A JSON object body. Unlike `web::Json`, it refuses arrays that serde would
/// otherwise map onto a struct's fields by position.
///
/// Its extraction never fails: actix polls a handler's extractors together,
/// so a body error could otherwise win the race against the caller's
/// authorization (`Authorized` needs a database look-up). The handler reads
/// the body with `into_inner()?`, after every extractor — authorization
/// included — has succeeded: a caller who may not use a route gets 403,
/// whatever it sent.
pub struct JsonBody<T>(ApiResult<T>);

impl<T> JsonBody<T> {
    pub fn into_inner(self) -> ApiResult<T> {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let object = web::Json::<Map<String, Value>>::from_request(req, payload);
        Box::pin(async move {
            let parsed = match object.await {
                Ok(web::Json(map)) => {
                    let body = Value::Object(map);
                    refuse_nul(&body)
                        .and_then(|()| serde_json::from_value(body).map_err(|e| json_error(&e)))
                }
                Err(e) => Err(ApiError::from_actix(&e)),
            };
            Ok(JsonBody(parsed))
        })
    }
}

/// Parses a JSON body that may be empty.
pub fn optional_json<T: DeserializeOwned + Default>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    refuse_nul(&value)?;
    serde_json::from_value(value).map_err(|e| json_error(&e))
}

/// No text that reaches the database may hold a NUL character (PostgreSQL
/// refuses it): every string in a body is checked here, once, and a NUL is a
/// 422 naming the field (`rubric.criteria[0].key`).
pub fn refuse_nul(body: &Value) -> ApiResult<()> {
    let mut errors = Vec::new();
    find_nul(body, &mut String::new(), &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

fn find_nul(v: &Value, path: &mut String, errors: &mut Vec<FieldError>) {
    match v {
        Value::String(s) if s.contains('\0') => {
            let field = if path.is_empty() {
                "body"
            } else {
                path.as_str()
            };
            errors.push(FieldError::new(field, NUL_MESSAGE));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                find_nul(item, path, errors);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                find_nul(item, path, errors);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

pub const NUL_MESSAGE: &str = "must not contain a NUL character";

/// actix's JSON errors as problems (the app's `JsonConfig` error handler).
pub fn json_payload_error(e: JsonPayloadError) -> ApiError {
    match &e {
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is too large",
            )
        }
        JsonPayloadError::Deserialize(se) => json_error(se),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "the request body could not be read",
        ),
    }
}

/// A body that is not JSON is a 400; JSON of the wrong shape is a 422 naming the field.
pub fn json_error(e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
    match e.classify() {
        Category::Data => {
            let field = msg
                .split('`')
                .nth(1)
                .filter(|_| msg.starts_with("missing field") || msg.starts_with("unknown field"))
                .unwrap_or("body")
                .to_owned();
            ApiError::validation(vec![FieldError::new(field, msg)])
        }
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {msg}"),
        ),
    }
}
