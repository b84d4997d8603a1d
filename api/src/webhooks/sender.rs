//! One delivery attempt over HTTP: the Standard Webhooks headers (the
//! signature made now, with the current and, during a rotation's overlap,
//! the previous secret), redirects not followed, no proxy, the whole
//! exchange within the timeout, at most 4 KiB of the answer read. Names
//! resolve through [`Guarded`], which drops inward addresses unless they
//! are allowed — checked on the addresses actually connected to, so a name
//! that resolves inward at delivery time (DNS rebinding) is refused then;
//! an address literal is checked before anything is sent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kartel_domain::webhooks::{self, Answer, Due};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::redirect::Policy;

/// The most of an answer that is read and kept.
pub const MAX_ANSWER_BYTES: usize = 4096;

/// Resolves names with the system resolver, keeping only the addresses
/// deliveries may reach.
pub struct Guarded {
    pub allow_private: bool,
}

#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut why = None;
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match webhooks::refused(a.ip()) {
                    Some(kind) if !allow_private => {
                        why = Some(format!(
                            "refused: {host} resolves to {} (a {kind} address)",
                            a.ip()
                        ));
                        false
                    }
                    Some(_) | None => true,
                })
                .collect();
            if kept.is_empty() {
                let why = why.unwrap_or_else(|| format!("{host} resolves to no address"));
                return Err(Box::new(Refused(why)) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    pub fn new(timeout: Duration, allow_private: bool) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent("Kartel-Webhooks/1.0")
            .dns_resolver(Arc::new(Guarded { allow_private }))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the webhook client: {e}"))?;
        Ok(Self {
            client,
            allow_private,
        })
    }

    /// Makes one attempt at `due`.
    pub async fn send(&self, due: &Due) -> Answer {
        let started = Instant::now();
        let mut answer = self.attempt(due).await;
        answer.latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        answer
    }

    async fn attempt(&self, due: &Due) -> Answer {
        let failed = |error: String| Answer {
            error: Some(error),
            ..Answer::default()
        };
        let url = match reqwest::Url::parse(&due.url) {
            Ok(u) => u,
            Err(e) => return failed(format!("not a URL: {e}")),
        };
        let literal = match url.host() {
            Some(url::Host::Ipv4(a)) => Some(std::net::IpAddr::V4(a)),
            Some(url::Host::Ipv6(a)) => Some(std::net::IpAddr::V6(a)),
            Some(url::Host::Domain(_)) | None => None,
        };
        if let Some(ip) = literal
            && !self.allow_private
            && let Some(kind) = webhooks::refused(ip)
        {
            return failed(format!("refused: {ip} is a {kind} address"));
        }
        let at = kartel_domain::now();
        let id = due.message_id.to_string();
        let signature =
            match webhooks::signature_header(&due.secrets(at), &id, at.timestamp(), &due.body) {
                Ok(s) => s,
                Err(e) => return failed(format!("cannot sign: {e}")),
            };
        let sent = self
            .client
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("webhook-id", id)
            .header("webhook-timestamp", at.timestamp().to_string())
            .header("webhook-signature", signature)
            .body(due.body.clone())
            .send()
            .await;
        let mut resp = match sent {
            Ok(r) => r,
            Err(e) => return failed(describe(&e)),
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, at));
        let mut body = Vec::new();
        let mut error = None;
        while body.len() < MAX_ANSWER_BYTES {
            match resp.chunk().await {
                Ok(Some(c)) => body.extend_from_slice(&c),
                Ok(None) => break,
                Err(e) => {
                    error = Some(format!("reading the answer: {}", describe(&e)));
                    break;
                }
            }
        }
        body.truncate(MAX_ANSWER_BYTES);
        Answer {
            status: Some(status),
            latency_ms: 0,
            response: String::from_utf8_lossy(&body).into_owned(),
            error: error.filter(|_| !(200..300).contains(&status)),
            retry_after,
        }
    }
}

/// An error and its causes, in one line.
fn describe(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A `Retry-After` value: delay seconds or an HTTP date.
fn retry_after(v: &str, now: chrono::DateTime<chrono::Utc>) -> Option<chrono::Duration> {
    if let Ok(secs) = v.trim().parse::<i64>() {
        return Some(chrono::Duration::seconds(secs.max(0)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    Some((at.with_timezone(&chrono::Utc) - now).max(chrono::Duration::zero()))
}
