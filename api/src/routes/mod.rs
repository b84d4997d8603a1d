//! The HTTP API, registered through utoipa-actix-web so that the OpenAPI
//! document cannot miss a route. Request/response DTOs sit beside handlers.

pub mod admin;
pub mod appeals;
pub mod auth;
pub mod certificates;
pub mod challenges;
pub mod credits;
pub mod dashboard;
pub mod events;
pub mod handoffs;
pub mod me;
pub mod ops;
pub mod pods;
pub mod responses;
pub mod review_queue;
pub mod reviews;
pub mod schemas;
pub mod status_lists;
pub mod stream;
pub mod submissions;
pub mod talents;
pub mod tracks;
pub mod webhooks;

use actix_web::HttpRequest;
use kartel_domain::types::Tier;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Everything under `/api/v1`.
pub fn api_v1(cfg: &mut ServiceConfig) {
    cfg.service(auth::register::register)
        .service(auth::login::login)
        .service(auth::refresh::refresh)
        .service(auth::logout::logout)
        .service(auth::verify_email::verify_email)
        .service(auth::resend_verification::resend_verification)
        .service(auth::password_reset::request_password_reset)
        .service(auth::password_reset_confirm::confirm_password_reset)
        .service(me::get::get_me)
        .service(me::update::update_me)
        .service(me::change_password::change_password)
        .service(me::change_email::change_email)
        .service(me::export::export_my_data)
        .service(me::erase::erase_me)
        .service(me::credits::get_my_credits)
        .service(me::credit_transactions::list_my_credit_transactions)
        .service(me::holds::list_my_holds)
        .service(talents::list::list_talents)
        .service(talents::get::get_talent)
        .service(talents::credits::get_talent_credits)
        .service(talents::credit_transactions::list_talent_credit_transactions)
        .service(talents::holds::list_talent_holds)
        .service(admin::update_user::update_user)
        .service(admin::erase_user::erase_user)
        .service(admin::create_api_key::create_api_key)
        .service(admin::list_api_keys::list_api_keys)
        .service(admin::get_api_key::get_api_key)
        .service(admin::revoke_api_key::revoke_api_key)
        .service(admin::audit_log::list_audit_log)
        .service(admin::ledger_check::check_ledger)
        .service(credits::grant::create_grant)
        .service(credits::allowance::claim_allowance)
        .service(credits::list_allowance_policies::list_allowance_policies)
        .service(credits::set_allowance_policy::set_allowance_policy)
        .service(credits::create_hold::create_hold)
        .service(credits::get_hold::get_hold)
        .service(credits::capture::capture_hold)
        .service(credits::release::release_hold)
        .service(credits::spend::create_spend)
        .service(credits::reverse::reverse_transaction)
        .service(challenges::create::create_challenge)
        .service(challenges::list::list_challenges)
        .service(challenges::get::get_challenge)
        .service(challenges::update::update_challenge)
        .service(challenges::transition::transition_challenge)
        .service(challenges::leaderboard::get_leaderboard)
        .service(challenges::submit::create_submission)
        .service(challenges::list_submissions::list_challenge_submissions)
        .service(submissions::mine::list_my_submissions)
        .service(submissions::get::get_submission)
        .service(submissions::update::update_submission)
        .service(submissions::withdraw::withdraw_submission)
        .service(submissions::review::create_review)
        .service(submissions::list_reviews::list_reviews)
        .service(appeals::file::create_appeal)
        .service(appeals::list::list_appeals)
        .service(appeals::answer::answer_appeal)
        .service(review_queue::claim::claim_review)
        .service(review_queue::extend::extend_claim)
        .service(review_queue::release::release_claim)
        .service(review_queue::list::get_review_queue)
        .service(reviews::metrics::get_review_metrics)
        .service(tracks::list::list_tracks)
        .service(tracks::update::update_track)
        .service(tracks::set_requirements::set_track_requirements)
        .service(tracks::get_reevaluation::get_reevaluation)
        .service(me::enrol::enrol_in_track)
        .service(me::progress::get_my_progress)
        .service(talents::progress::get_talent_progress)
        .service(talents::tier_history::get_tier_history)
        .service(talents::certify::certify_talent)
        .service(talents::demote::demote_talent)
        .service(talents::lock::lock_talent_tier)
        .service(certificates::get::get_certificate)
        .service(status_lists::get::get_status_list)
        .service(pods::list::list_pods)
        .service(pods::create::create_pod)
        .service(pods::get::get_pod)
        .service(pods::update::update_pod)
        .service(pods::add_slot::add_slot)
        .service(pods::unassign::unassign_slot)
        .service(pods::assign::assign_slot)
        .service(pods::add_engagement::add_engagement)
        .service(pods::end_engagement::end_engagement)
        .service(pods::open_roles::list_open_roles)
        .service(pods::bench::list_bench)
        .service(handoffs::nominate::nominate)
        .service(handoffs::list::list_handoffs)
        .service(handoffs::get::get_handoff)
        .service(handoffs::accept::accept_handoff)
        .service(handoffs::decline::decline_handoff)
        .service(dashboard::get::get_talent_engine_dashboard)
        .service(dashboard::set_targets::set_targets)
        .service(stream::open::open_stream)
        .service(stream::tickets::create_stream_ticket)
        .service(webhooks::create_endpoint::create_webhook_endpoint)
        .service(webhooks::list_endpoints::list_webhook_endpoints)
        .service(webhooks::get_endpoint::get_webhook_endpoint)
        .service(webhooks::update_endpoint::update_webhook_endpoint)
        .service(webhooks::delete_endpoint::delete_webhook_endpoint)
        .service(webhooks::rotate_secret::rotate_webhook_secret)
        .service(webhooks::test_endpoint::test_webhook_endpoint)
        .service(webhooks::list_attempts::list_webhook_attempts)
        .service(webhooks::recover::recover_webhook_endpoint)
        .service(webhooks::resend_message::resend_webhook_message)
        .service(events::list::list_events)
        .service(events::types::list_event_types);
}

/// Caches outside the database that showed an erased person forget them:
/// the leaderboards of the challenges they submitted to.
pub async fn forget_erased(st: &AppState, erased: &kartel_domain::accounts::Erased) {
    st.sessions.revoked(erased.user_id).await;
    for challenge in &erased.challenges {
        st.leaderboards.changed(*challenge).await;
    }
}

/// Operations endpoints at the root.
pub fn root(cfg: &mut ServiceConfig) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::jwks);
}

/// An optional `Idempotency-Key`: a retry with the same key and body gets the
/// first answer instead of a second effect.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct OptionalIdempotencyHeader {
    /// Optional; unique per intended operation (a UUID is a good choice). A
    /// retry with the same key and body answers the first outcome again,
    /// success or refusal; another body under the key is 422
    /// `idempotency_key_reused`, a key whose first request is still running
    /// 409 `idempotency_in_progress`.
    #[serde(rename = "Idempotency-Key")]
    #[param(
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]+$",
        example = "3f0c2a8e-5b1d-4c1e-9a57-0d6f2b7c9e11"
    )]
    pub idempotency_key: Option<String>,
}

/// The `Idempotency-Key` header of money-moving requests.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyHeader {
    /// Unique per intended operation (a UUID is a good choice); a retry sends
    /// the same key and body and gets the first answer.
    #[serde(rename = "Idempotency-Key")]
    #[param(
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]+$",
        example = "0b0f2a36-9d7e-4c1b-a9a4-5f3e8c2d7b61"
    )]
    pub idempotency_key: String,
}

/// `?limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page: 1–100, default 20.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page; omit it for the first page.
    /// Opaque: a cursor from another list is refused.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> ApiResult<kartel_domain::types::Limit> {
        kartel_domain::types::Limit::parse(self.limit).map_err(|e| ApiError::validation(vec![e]))
    }
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(bound(serialize = "T: Serialize"))]
pub struct PageOf<T: Listed<Item = T>> {
    /// This page's items, in the list's order.
    pub items: Vec<T::Item>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// A type that lists come in pages of. `PageOf<T>` names its items
/// `T::Item` (always `T`) rather than `T` because utoipa 6 copies a bare type
/// parameter's whole schema into each `PageOf_<T>`, while an associated type
/// becomes a `$ref` to `T`'s component schema (juhaku/utoipa#1182, #1586):
/// one type per resource for generated clients.
pub trait Listed {
    type Item;
}

macro_rules! listed {
    ($($t:ty),* $(,)?) => {
        $(impl Listed for $t {
            type Item = Self;
        })*
    };
}

listed!(
    kartel_domain::accounts::Account,
    kartel_domain::api_keys::ApiKey,
    kartel_domain::audit::AuditEntry,
    kartel_domain::challenges::Challenge,
    kartel_domain::challenges::ReviewView,
    kartel_domain::challenges::Appeal,
    kartel_domain::challenges::QueueLine,
    kartel_domain::challenges::Submission,
    kartel_domain::ledger::CreditTransaction,
    kartel_domain::ledger::Hold,
    kartel_domain::tiers::TierChange,
    kartel_domain::pods::Pod,
    kartel_domain::pods::OpenRole,
    kartel_domain::pods::BenchEntry,
    kartel_domain::pods::Nomination,
    kartel_domain::webhooks::Endpoint,
    kartel_domain::webhooks::Attempt,
);

impl<T: Listed<Item = T>> From<kartel_domain::page::Page<T>> for PageOf<T> {
    fn from(p: kartel_domain::page::Page<T>) -> Self {
        Self {
            items: p.items,
            next_cursor: p.next_cursor,
        }
    }
}

/// A `tier` filter of a query: 0–5, or a 422 naming `tier`.
pub fn tier_filter(raw: Option<i16>) -> ApiResult<Option<Tier>> {
    raw.map(|t| Tier::parse("tier", t.into()))
        .transpose()
        .map_err(|e| ApiError::validation(vec![e]))
}

/// The client's IP, from `X-Forwarded-For` only when configured to trust it.
pub fn client_ip(req: &HttpRequest, st: &AppState) -> String {
    let info = req.connection_info();
    let ip = if st.settings.trust_forwarded_for {
        info.realip_remote_addr()
    } else {
        info.peer_addr()
    };
    ip.map(ip_of).unwrap_or_else(|| "unknown".into())
}

/// The IP in `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:5678`
/// (an IPv6 address has colons of its own: only a bracketed one has a port).
fn ip_of(s: &str) -> String {
    use std::net::{IpAddr, SocketAddr};
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return a.ip().to_string();
    }
    if let Ok(ip) = s
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return ip.to_string();
    }
    s.to_owned()
}

/// Applies the auth rate limits: per client IP and, when known, per account.
pub async fn limit_auth(
    req: &HttpRequest,
    st: &AppState,
    action: &str,
    account: Option<&str>,
) -> ApiResult<()> {
    let window = std::time::Duration::from_secs(60);
    let ip = client_ip(req, st);
    st.limiter
        .hit(
            &format!("{action}:ip:{ip}"),
            st.settings.auth_rate_limit_per_ip,
            window,
        )
        .await
        .map_err(ApiError::rate_limited)?;
    if let Some(account) = account {
        st.limiter
            .hit(
                &format!("{action}:acct:{account}"),
                st.settings.auth_rate_limit_per_account,
                window,
            )
            .await
            .map_err(ApiError::rate_limited)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ip_of;

    #[test]
    fn client_ips_keep_their_ipv6_colons_and_lose_their_ports() {
        assert_eq!(ip_of("1.2.3.4:5678"), "1.2.3.4");
        assert_eq!(ip_of("1.2.3.4"), "1.2.3.4");
        assert_eq!(ip_of("2001:db8::1"), "2001:db8::1");
        assert_eq!(ip_of("[2001:db8::2]:443"), "2001:db8::2");
        assert_eq!(ip_of("::1"), "::1");
    }
}
