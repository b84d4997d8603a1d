//! The load clients' HTTP/1.1: one kept-alive connection per client, each
//! request written whole in one buffer and each answer read by its
//! `Content-Length`. A general client (reqwest, kept for setup) cost ~65 µs
//! of CPU a request on the machine it shares with the service and
//! PostgreSQL, a fifth of a signed-in read; this costs a few, as `wrk` or
//! `pgbench`'s own client do, so the figures are the service's.

use std::io;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One request, as a scenario makes it.
pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub bearer: Option<String>,
    pub headers: Vec<(&'static str, String)>,
    /// A JSON body.
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn get(path: String) -> Self {
        Self {
            method: "GET",
            path,
            bearer: None,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn post(path: String, body: &serde_json::Value) -> Self {
        Self {
            method: "POST",
            body: Some(serde_json::to_vec(body).expect("a JSON value serialises")),
            ..Self::get(path)
        }
    }

    pub fn bearer(mut self, token: &str) -> Self {
        self.bearer = Some(token.to_owned());
        self
    }

    pub fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    fn write_to(&self, host: &str, out: &mut Vec<u8>) {
        use std::io::Write as _;
        out.clear();
        // Writing into a Vec cannot fail.
        let _ = write!(
            out,
            "{} {} HTTP/1.1\r\nHost: {host}\r\n",
            self.method, self.path
        );
        if let Some(t) = &self.bearer {
            let _ = write!(out, "Authorization: Bearer {t}\r\n");
        }
        for (name, value) in &self.headers {
            let _ = write!(out, "{name}: {value}\r\n");
        }
        match &self.body {
            Some(b) => {
                let _ = write!(
                    out,
                    "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    b.len()
                );
                out.extend_from_slice(b);
            }
            None => out.extend_from_slice(b"\r\n"),
        }
    }
}

/// An answer: its status and body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// A client's connection, opened on first use and again after the server
/// closed it or a request failed.
pub struct Conn {
    addr: String,
    stream: Option<TcpStream>,
    out: Vec<u8>,
    buf: Vec<u8>,
}

impl Conn {
    /// `addr` is `host:port`.
    pub fn new(addr: &str) -> Self {
        Self {
            addr: addr.to_owned(),
            stream: None,
            out: Vec::with_capacity(1024),
            buf: Vec::with_capacity(4096),
        }
    }

    pub async fn send(&mut self, req: &Request) -> anyhow::Result<Answer> {
        let res = self.exchange(req).await;
        if !matches!(res, Ok((_, false))) {
            self.stream = None;
        }
        res.map(|(answer, _)| answer)
    }

    async fn exchange(&mut self, req: &Request) -> anyhow::Result<(Answer, bool)> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr)
                .await
                .with_context(|| format!("connecting to {}", self.addr))?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
        }
        let stream = self.stream.as_mut().expect("connected above");
        req.write_to(&self.addr, &mut self.out);
        stream.write_all(&self.out).await.context("writing")?;
        self.buf.clear();
        loop {
            if let Some(head) = parse_head(&self.buf)? {
                let end = head.len + head.content_length;
                while self.buf.len() < end {
                    read_more(stream, &mut self.buf).await?;
                }
                let body = self.buf[head.len..end].to_vec();
                return Ok((
                    Answer {
                        status: head.status,
                        body,
                    },
                    head.close,
                ));
            }
            read_more(stream, &mut self.buf).await?;
        }
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<()> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await.context("reading")?;
    if n == 0 {
        bail!(io::Error::from(io::ErrorKind::UnexpectedEof));
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

struct Head {
    status: u16,
    len: usize,
    content_length: usize,
    close: bool,
}

/// The answer's head once it is all in `buf`.
fn parse_head(buf: &[u8]) -> anyhow::Result<Option<Head>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut res = httparse::Response::new(&mut headers);
    let len = match res.parse(buf).context("not an HTTP answer")? {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => return Ok(None),
    };
    let (mut content_length, mut close) = (None, false);
    for h in res.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            content_length = Some(std::str::from_utf8(h.value)?.trim().parse::<usize>()?);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            bail!("a chunked answer: the load client reads only sized ones");
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = h.value.eq_ignore_ascii_case(b"close");
        }
    }
    Ok(Some(Head {
        status: res.code.context("no status")?,
        len,
        content_length: content_length.unwrap_or(0),
        close,
    }))
}
