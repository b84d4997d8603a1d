//! A webhook receiver on loopback for the tests and the benchmark: a small
//! HTTP/1.1 server (keep-alive) that verifies every delivery's signature
//! with the `standardwebhooks` crate (the spec's reference library) against
//! the secrets it is given, keeps what arrived, and answers as planned
//! (2xx, or a status with a `Retry-After` and a body).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One delivery as it arrived.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub path: String,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    /// For each secret the receiver knows (in order): whether it verified.
    pub verified: Vec<bool>,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Delivery {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// How the receiver answers.
#[derive(Debug, Clone)]
pub struct Plan {
    pub status: u16,
    pub retry_after: Option<String>,
    /// A `Location` to send (for a redirect).
    pub location: Option<String>,
    pub body: String,
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            status: 204,
            retry_after: None,
            location: None,
            body: String::new(),
        }
    }
}

#[derive(Default)]
struct Shared {
    secrets: Vec<String>,
    plan: Plan,
    got: Vec<Delivery>,
    ids: std::collections::HashSet<String>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: JoinHandle<()>,
}

impl Receiver {
    /// Listens on a free loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(0).await
    }

    /// Listens on `port` of loopback (0: any free one).
    pub async fn start_on(port: u16) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, s).await;
                });
            }
        });
        Ok(Self { addr, shared, task })
    }

    /// A loopback port nothing listens on (for a receiver that is down).
    pub async fn free_port() -> anyhow::Result<u16> {
        let l = TcpListener::bind(("127.0.0.1", 0)).await?;
        Ok(l.local_addr()?.port())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The secrets each delivery is verified against.
    pub fn verify_with(&self, secrets: &[&str]) {
        self.lock().secrets = secrets.iter().map(|s| (*s).to_owned()).collect();
    }

    pub fn answer(&self, plan: Plan) {
        self.lock().plan = plan;
    }

    /// Everything that arrived, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().got.clone()
    }

    pub fn count(&self) -> usize {
        self.lock().got.len()
    }

    /// How many distinct `webhook-id`s arrived.
    pub fn distinct(&self) -> usize {
        self.lock().ids.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether the delivery verifies with `secret` by the reference library:
/// its timestamp within 5 minutes of now and one of the space-separated
/// signatures the `v1` HMAC of `id.timestamp.body`.
fn verify(secret: &str, d: &Delivery) -> bool {
    let Ok(wh) = standardwebhooks::Webhook::new(secret) else {
        return false;
    };
    let mut h = reqwest::header::HeaderMap::new();
    for (name, value) in [
        ("webhook-id", &d.id),
        ("webhook-timestamp", &d.timestamp),
        ("webhook-signature", &d.signature),
    ] {
        if let Ok(v) = value.parse() {
            h.insert(name, v);
        }
    }
    wh.verify(d.body.as_bytes(), &h).is_ok()
}

/// Serves requests on one connection until it closes.
async fn serve(mut stream: TcpStream, shared: Arc<Mutex<Shared>>) -> anyhow::Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // The head.
        let (head_len, path, headers, length) = loop {
            let mut hs = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut hs);
            if let httparse::Status::Complete(n) = req.parse(&buf)? {
                let get = |name: &str| {
                    req.headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).into_owned())
                        .unwrap_or_default()
                };
                let length: usize = get("content-length").parse().unwrap_or(0);
                let headers = [
                    get("webhook-id"),
                    get("webhook-timestamp"),
                    get("webhook-signature"),
                ];
                break (n, req.path.unwrap_or("/").to_owned(), headers, length);
            }
            let mut chunk = [0u8; 8192];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        while buf.len() < head_len + length {
            let mut chunk = [0u8; 8192];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = String::from_utf8_lossy(&buf[head_len..head_len + length]).into_owned();
        buf.drain(..head_len + length);
        let [id, timestamp, signature] = headers;
        let mut d = Delivery {
            path,
            id,
            timestamp,
            signature,
            body,
            verified: Vec::new(),
            at: std::time::Instant::now(),
        };
        let plan = {
            let secrets = shared
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .secrets
                .clone();
            d.verified = secrets.iter().map(|s| verify(s, &d)).collect();
            let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
            s.ids.insert(d.id.clone());
            s.got.push(d);
            s.plan.clone()
        };
        let mut answer = format!(
            "HTTP/1.1 {} X\r\ncontent-length: {}\r\ncontent-type: text/plain\r\n",
            plan.status,
            plan.body.len()
        );
        if let Some(r) = &plan.retry_after {
            answer.push_str(&format!("retry-after: {r}\r\n"));
        }
        if let Some(l) = &plan.location {
            answer.push_str(&format!("location: {l}\r\n"));
        }
        answer.push_str("\r\n");
        answer.push_str(&plan.body);
        stream.write_all(answer.as_bytes()).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks test vector (the one the reference libraries
    /// share): secret, id, timestamp, body and its signature.
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TIMESTAMP: i64 = 1649367553;
    const BODY: &str = r#"{"email":"test@example.com","username":"test_user"}"#;
    const SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn delivery(timestamp: i64, body: &str, signature: &str) -> Delivery {
        Delivery {
            path: "/".into(),
            id: ID.into(),
            timestamp: timestamp.to_string(),
            signature: signature.into(),
            body: body.into(),
            verified: Vec::new(),
            at: std::time::Instant::now(),
        }
    }

    #[test]
    fn the_reference_library_signs_the_spec_vector_as_published() {
        let wh = standardwebhooks::Webhook::new(SECRET).expect("secret");
        let got = wh.sign(ID, TIMESTAMP, BODY.as_bytes()).expect("sign");
        assert_eq!(got, SIGNATURE);
        // And so does the service's signer.
        let ours = kartel_domain::webhooks::sign(SECRET, ID, TIMESTAMP, BODY).expect("sign");
        assert_eq!(ours, SIGNATURE);
    }

    #[test]
    fn the_verifier_takes_the_vector_only_while_it_is_fresh() {
        // Published in 2022: too old to be taken now (replay protection).
        assert!(!verify(SECRET, &delivery(TIMESTAMP, BODY, SIGNATURE)));
        // The same message signed now.
        let now = chrono::Utc::now().timestamp();
        let sig = kartel_domain::webhooks::sign(SECRET, ID, now, BODY).expect("sign");
        assert!(verify(SECRET, &delivery(now, BODY, &sig)));
        // Ten minutes in the future or the past is refused.
        for skew in [-600, 600] {
            let sig = kartel_domain::webhooks::sign(SECRET, ID, now + skew, BODY).expect("sign");
            assert!(!verify(SECRET, &delivery(now + skew, BODY, &sig)), "{skew}");
        }
    }

    #[test]
    fn the_verifier_refuses_what_was_changed_and_takes_any_of_several_signatures() {
        let now = chrono::Utc::now().timestamp();
        let sig = kartel_domain::webhooks::sign(SECRET, ID, now, BODY).expect("sign");
        let other = kartel_domain::webhooks::new_secret().expect("secret");
        let tampered = BODY.replace("test_user", "admin");
        assert!(
            !verify(SECRET, &delivery(now, &tampered, &sig)),
            "a changed body"
        );
        assert!(
            !verify(SECRET, &delivery(now + 1, BODY, &sig)),
            "a changed timestamp"
        );
        assert!(
            !verify(&other, &delivery(now, BODY, &sig)),
            "another secret"
        );
        let v2 = sig.replacen("v1,", "v2,", 1);
        assert!(
            !verify(SECRET, &delivery(now, BODY, &v2)),
            "an unknown version"
        );
        // During a rotation two sign, space-separated: either secret verifies.
        let by_other = kartel_domain::webhooks::sign(&other, ID, now, BODY).expect("sign");
        let both = format!("{by_other} {sig}");
        assert!(verify(SECRET, &delivery(now, BODY, &both)));
        assert!(verify(&other, &delivery(now, BODY, &both)));
    }
}
