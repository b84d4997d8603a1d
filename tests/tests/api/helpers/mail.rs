//! Mail in tests: the tokens mailed to an address (as received by the app's
//! SMTP sink), and `SmtpSink`, a small SMTP server in the test process that
//! keeps every message it accepts and can be taken down and up again.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use sea_orm::FromQueryResult;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::TestApp;

#[derive(FromQueryResult)]
struct Body {
    body: String,
}

/// The token of the link in `body` that starts with `prefix` (`ve_`, `pr_`).
pub fn token_in(body: &str, prefix: &str) -> Option<String> {
    let start = body.find(&format!("token={prefix}"))? + "token=".len();
    Some(
        body[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect(),
    )
}

impl TestApp {
    /// The newest token starting with `prefix` mailed to `to`, as the
    /// person receives it: from the app's SMTP sink (mail is sent at once;
    /// a reset request writes it just after answering, so this waits for
    /// it, at most 10 s).
    pub async fn mailed_token(&self, to: &str, prefix: &str) -> String {
        #[derive(FromQueryResult)]
        struct N {
            n: i64,
        }
        for _ in 0..500 {
            // Once every mail to `to` is handed off, the newest one with such
            // a link is the one to use.
            let waiting = self
                .query_sql::<N>(
                    "SELECT COUNT(*) AS n FROM mail_outbox WHERE to_address = $1 AND sent_at IS NULL AND failed_at IS NULL",
                    [to.into()],
                )
                .await
                .map_or(0, |r| r.n);
            if waiting == 0
                && let Some(t) = self.mail.to(to).iter().rev().find_map(|m| m.token(prefix))
            {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no mail with a {prefix} token to {to}");
    }

    /// The bodies the outbox keeps for `to` (sent or not).
    pub async fn outbox_bodies(&self, to: &str) -> Vec<String> {
        let rows: Vec<Body> = kartel_domain::db::fetch_all(
            &self.db,
            "SELECT body FROM mail_outbox WHERE to_address = $1",
            [to.into()],
        )
        .await
        .expect("outbox");
        rows.into_iter().map(|b| b.body).collect()
    }

    /// How many messages to `to` the outbox holds (sent or not).
    pub async fn outbox_count(&self, to: &str) -> i64 {
        #[derive(FromQueryResult)]
        struct N {
            n: i64,
        }
        self.query_sql::<N>(
            "SELECT COUNT(*) AS n FROM mail_outbox WHERE to_address = $1",
            [to.into()],
        )
        .await
        .map_or(0, |r| r.n)
    }
}

/// A message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    /// The message's text without its quoted-printable transfer encoding
    /// (soft line breaks and `=3D`), as a mail reader shows it.
    pub fn text(&self) -> String {
        self.data.replace("=\n", "").replace("=3D", "=")
    }

    /// The token of the link that starts with `prefix`, if the message has one.
    pub fn token(&self, prefix: &str) -> Option<String> {
        token_in(&self.text(), prefix)
    }

    /// The `Message-ID` header.
    pub fn message_id(&self) -> Option<&str> {
        self.data.lines().find_map(|l| {
            l.strip_prefix("Message-ID: ")
                .or_else(|| l.strip_prefix("Message-Id: "))
        })
    }
}

/// An SMTP server on a free loopback port.
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    down: Arc<Mutex<bool>>,
}

/// Every sink of this test process by port, so that an app configured with
/// another app's `smtp_url` reads the mail where it is sent.
static SINKS: LazyLock<Mutex<HashMap<u16, SmtpSink>>> = LazyLock::new(Mutex::default);

impl SmtpSink {
    /// The sink `smtp://127.0.0.1:<port>` names, if it is one of ours.
    pub fn of_url(url: &str) -> Option<Self> {
        let port: u16 = url.strip_prefix("smtp://127.0.0.1:")?.parse().ok()?;
        SINKS.lock().expect("lock").get(&port).cloned()
    }

    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let sink = Self {
            port: listener.local_addr().expect("addr").port(),
            received: Arc::default(),
            down: Arc::default(),
        };
        SINKS.lock().expect("lock").insert(sink.port, sink.clone());
        let s = sink.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = s.session(conn).await;
                });
            }
        });
        sink
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// While down, every connection is greeted with `421` (a temporary refusal).
    pub fn set_down(&self, down: bool) {
        *self.down.lock().expect("lock") = down;
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// The messages to `to`.
    pub fn to(&self, to: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == to))
            .collect()
    }

    /// Waits until `n` messages to `to` arrived (at most 10 s), then returns them.
    pub async fn wait_for(&self, to: &str, n: usize) -> Vec<Received> {
        for _ in 0..500 {
            let got = self.to(to);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{n} message(s) to {to} did not arrive: {:?}", self.to(to));
    }

    async fn session(&self, conn: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = conn.into_split();
        let mut lines = BufReader::new(read).lines();
        if *self.down.lock().expect("lock") {
            write.write_all(b"421 sink is down, try later\r\n").await?;
            return Ok(());
        }
        write.write_all(b"220 sink ESMTP\r\n").await?;
        let mut to = Vec::new();
        while let Some(line) = lines.next_line().await? {
            let upper = line.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                write.write_all(b"250-sink\r\n250 8BITMIME\r\n").await?;
            } else if upper.starts_with("RCPT TO:") {
                let addr = line[8..].trim().trim_start_matches('<');
                let addr = addr.split('>').next().unwrap_or_default();
                to.push(addr.to_owned());
                write.write_all(b"250 OK\r\n").await?;
            } else if upper == "DATA" {
                write.write_all(b"354 end with .\r\n").await?;
                let mut data = String::new();
                while let Some(l) = lines.next_line().await? {
                    if l == "." {
                        break;
                    }
                    data.push_str(&l);
                    data.push('\n');
                }
                self.received.lock().expect("lock").push(Received {
                    to: std::mem::take(&mut to),
                    data,
                });
                write.write_all(b"250 OK queued\r\n").await?;
            } else if upper == "QUIT" {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else if upper.starts_with("RSET") {
                to.clear();
                write.write_all(b"250 OK\r\n").await?;
            } else {
                // HELO, MAIL FROM, NOOP…
                write.write_all(b"250 OK\r\n").await?;
            }
        }
        Ok(())
    }
}
