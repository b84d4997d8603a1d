//! Where a webhook may go: an `https` URL (`http` only when the operator
//! allows it) to an address that is not this network's own — loopback,
//! private, link-local (cloud metadata), carrier-grade NAT, unique-local,
//! unspecified, multicast or reserved — unless the operator allows private
//! addresses. The API checks every address a name resolves to at each
//! delivery, so a name that later resolves inward is refused then.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::error::FieldError;

/// The longest URL an endpoint may have.
pub const MAX_URL: usize = 2048;

/// What the operator allows (`KARTEL_WEBHOOK_ALLOW_HTTP`, `_ALLOW_PRIVATE`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Reach {
    pub allow_http: bool,
    pub allow_private: bool,
}

/// Parses an endpoint URL: absolute, `https` (or `http` when allowed), a
/// host, no credentials; an address literal that is not public is refused
/// here already unless private addresses are allowed.
pub fn parse_url(raw: &str, reach: Reach) -> Result<Url, FieldError> {
    let bad = |m: &str| FieldError::new("url", m);
    if raw.len() > MAX_URL {
        return Err(bad("must be at most 2048 characters"));
    }
    let url = Url::parse(raw).map_err(|e| bad(&format!("is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if reach.allow_http => {}
        "http" => return Err(bad("must be https (http is not allowed here)")),
        _ => return Err(bad("must be an https URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    let ip = match url.host() {
        None => return Err(bad("must name a host")),
        Some(Host::Domain(_)) => None,
        Some(Host::Ipv4(a)) => Some(IpAddr::V4(a)),
        Some(Host::Ipv6(a)) => Some(IpAddr::V6(a)),
    };
    if let Some(ip) = ip
        && !reach.allow_private
        && let Some(why) = refused(ip)
    {
        return Err(bad(&format!("must not point at a {why} address")));
    }
    Ok(url)
}

/// Why deliveries may not go to `ip` (a kind of address), or `None` for a
/// public address.
pub fn refused(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => refused_v4(a),
        IpAddr::V6(a) => refused_v6(a),
    }
}

fn refused_v4(a: Ipv4Addr) -> Option<&'static str> {
    let [o1, o2, o3, _] = a.octets();
    if a.is_unspecified() || o1 == 0 {
        Some("unspecified")
    } else if a.is_loopback() {
        Some("loopback")
    } else if a.is_link_local() {
        // 169.254.0.0/16, where cloud metadata services answer.
        Some("link-local or metadata")
    } else if a.is_private() {
        Some("private")
    } else if o1 == 100 && (64..128).contains(&o2) {
        // 100.64.0.0/10 (also Alibaba's metadata at 100.100.100.200).
        Some("carrier-grade NAT")
    } else if a.is_multicast() || a.is_broadcast() || o1 >= 240 {
        Some("multicast or reserved")
    } else if (o1 == 192 && o2 == 0 && o3 == 0)
        || (o1 == 198 && (o2 == 18 || o2 == 19))
        || a.is_documentation()
    {
        // Protocol assignments, benchmarking, documentation.
        Some("reserved")
    } else {
        None
    }
}

fn refused_v6(a: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = a.to_ipv4_mapped() {
        return refused_v4(v4);
    }
    let s = a.segments();
    // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [a1, a2] = s[6].to_be_bytes();
        let [a3, a4] = s[7].to_be_bytes();
        return refused_v4(Ipv4Addr::new(a1, a2, a3, a4));
    }
    if a.is_unspecified() {
        Some("unspecified")
    } else if a.is_loopback() {
        Some("loopback")
    } else if (s[0] & 0xffc0) == 0xfe80 || (s[0] & 0xffc0) == 0xfec0 {
        Some("link-local")
    } else if (s[0] & 0xfe00) == 0xfc00 {
        // Unique-local (fd00:ec2::254 is AWS's metadata).
        Some("unique-local")
    } else if a.is_multicast() {
        Some("multicast or reserved")
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        Some("reserved")
    } else if s[0..6] == [0, 0, 0, 0, 0, 0] {
        // IPv4-compatible (deprecated) ::a.b.c.d.
        Some("reserved")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn inward_addresses_are_refused_and_public_ones_pass() {
        for a in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.0.170",
            "198.18.0.1",
            "::",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
            "2001:db8::1",
        ] {
            assert!(refused(ip(a)).is_some(), "{a} is refused");
        }
        for a in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert_eq!(refused(ip(a)), None, "{a} is public");
        }
    }

    #[test]
    fn urls_are_https_with_a_host_and_no_credentials() {
        let strict = Reach::default();
        assert!(parse_url("https://hooks.example.com/kartel?x=1", strict).is_ok());
        for bad in [
            "http://hooks.example.com/",
            "ftp://hooks.example.com/",
            "https://user:pw@hooks.example.com/",
            "https://",
            "not a url",
            "https://127.0.0.1/",
            "https://[::1]:8443/",
            "https://169.254.169.254/latest/meta-data",
            "https://hooks.example.com/#frag",
        ] {
            let e = parse_url(bad, strict).err();
            assert_eq!(e.map(|e| e.field), Some("url".to_owned()), "{bad}");
        }
        let open = Reach {
            allow_http: true,
            allow_private: true,
        };
        assert!(parse_url("http://127.0.0.1:9999/hook", open).is_ok());
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL));
        assert!(parse_url(&long, open).is_err());
    }
}
