use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use kartel_domain::policy::{self, Action, Allowed};
use kartel_domain::{Caller, UserCaller, api_keys};

use crate::error::ApiError;
use crate::state::AppState;

type Fut<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("application state is missing"))
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let h = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn api_key(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("x-api-key")?
        .to_str()
        .ok()
        .map(|s| s.trim().to_owned())
}

async fn user_from(req: HttpRequest) -> Result<Option<UserCaller>, ApiError> {
    let Some(token) = bearer(&req) else {
        return Ok(None);
    };
    let st = state(&req)?;
    let claims = st
        .sessions
        .verify(&token, |t| st.keys.verify_access_token(t))
        .ok_or_else(|| {
            ApiError::new(
                actix_web::http::StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is invalid or expired",
            )
        })?;
    Ok(Some(
        st.sessions
            .authenticate(&st.db, claims.user, claims.session)
            .await?,
    ))
}

/// A signed-in person (a valid access token of a live session and an active account).
pub struct CurrentUser(pub UserCaller);

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = Fut<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            user_from(req).await?.map(CurrentUser).ok_or_else(|| {
                ApiError::unauthorized("sign in: send Authorization: Bearer <access token>")
            })
        })
    }
}

/// A signed-in person if a token was sent; anonymous otherwise. A bad token is still refused.
pub struct MaybeUser(pub Option<UserCaller>);

impl FromRequest for MaybeUser {
    type Error = ApiError;
    type Future = Fut<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(MaybeUser(user_from(req).await?)) })
    }
}

/// A person or an internal service (its key in `X-Api-Key`). Extractors only
/// authenticate; what the caller may do is `Authorized`'s question.
pub struct AnyCaller(pub Caller);

impl FromRequest for AnyCaller {
    type Error = ApiError;
    type Future = Fut<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if let Some(key) = api_key(&req) {
                let st = state(&req)?;
                if let Some(service) = st.key_cache.get(&key) {
                    return Ok(AnyCaller(Caller::Service(service)));
                }
                let service = api_keys::authenticate(&st.db, &key).await?;
                if let Some(s) = &service {
                    st.key_cache.put(&key, s);
                }
                return service
                    .map(|s| AnyCaller(Caller::Service(s)))
                    .ok_or_else(|| {
                        ApiError::new(
                            actix_web::http::StatusCode::UNAUTHORIZED,
                            "invalid_api_key",
                            "the API key is invalid or revoked",
                        )
                    });
            }
            user_from(req)
                .await?
                .map(|u| AnyCaller(Caller::User(u)))
                .ok_or_else(|| {
                    ApiError::unauthorized("sign in, or send a service key as X-Api-Key")
                })
        })
    }
}

/// A caller that may do `A`: authenticated as [`AnyCaller`], then checked by
/// the domain's `policy` — the only place that decides who may do what. A
/// bad body cannot answer first: `JsonBody` reports it only when the handler
/// reads it.
pub struct Authorized<A>(pub Allowed<A>);

impl<A: Action + 'static> FromRequest for Authorized<A> {
    type Error = ApiError;
    type Future = Fut<Self>;
    fn from_request(req: &HttpRequest, p: &mut Payload) -> Self::Future {
        let caller: Fut<Caller> = if A::SERVICE_KEYS {
            let any = AnyCaller::from_request(req, p);
            Box::pin(async move { Ok(any.await?.0) })
        } else {
            let person = CurrentUser::from_request(req, p);
            Box::pin(async move { Ok(Caller::User(person.await?.0)) })
        };
        Box::pin(async move { Ok(Authorized(policy::authorize::<A>(caller.await?)?)) })
    }
}

impl<A> std::ops::Deref for Authorized<A> {
    type Target = Allowed<A>;
    fn deref(&self) -> &Allowed<A> {
        &self.0
    }
}
