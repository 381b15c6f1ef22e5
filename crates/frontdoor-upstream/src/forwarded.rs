//! Forwarding metadata written towards the upstream: `X-Forwarded-*`, `X-Real-IP`,
//! RFC 7239 `Forwarded` and `Via`, with an explicit trust decision.
//!
//! Trust comes from the [`PeerTrust`] extension the resolver layer stamps; its absence
//! means *untrusted*. From an untrusted peer every inbound forwarding header
//! ([`FORWARDING_HEADERS`]: `Forwarded`, `X-Forwarded-*`, `X-Real-IP`,
//! `True-Client-IP`, `X-Client-IP`, `CF-Connecting-IP`, `Fastly-Client-IP`,
//! `X-Cluster-Client-IP`, `X-Original-URL`, `X-Rewrite-URL`, `X-Forwarded-Prefix`,
//! `X-HTTP-Method-Override`, `X-Method-Override`) is **removed**, and the ones this
//! proxy writes are replaced by values it vouches for; from a trusted peer they all
//! pass as they came, except that `X-Forwarded-For` and `Forwarded` are **appended
//! to** (all inbound lines folded into one, then `, <peer>`). `Via` is always appended
//! to (RFC 9110 §7.6.3).
//!
//! `X-Real-IP` (on by default, [`Forwarding::x_real_ip`]) is set to the client
//! address: from an untrusted peer, the peer's address (the element `X-Forwarded-For`
//! gets); from a trusted proxy, its own `X-Real-IP` is kept as it came, and when it
//! sent none, the client the resolver found by walking the trusted chain
//! ([`PeerTrust::client`]), as nginx's `realip` module sets `$remote_addr`.
//!
//! The peer address comes from [`ConnInfo::remote`]; without a `ConnInfo` no address is
//! added (but untrusted inbound copies are still removed). The scheme written
//! (`X-Forwarded-Proto`, `Forwarded: proto=`) is the connection's ([`ConnInfo::tls`]),
//! or, from a trusted peer, the resolver's decision ([`Resolved::scheme`]); never the
//! client's request target, so an absolute-form `https://` target or an HTTP/2
//! `:scheme` cannot make the upstream believe the client came over TLS.
//!
//! `Via` (RFC 9110 §7.6.3: a gateway MUST send it on the requests it forwards) is on
//! by default as `Via: 1.1 frontdoor` (the received protocol version, then the
//! pseudonym); [`Forwarding::via`] sets another pseudonym and [`Forwarding::no_via`]
//! turns it off. On responses it is optional (RFC 9110 allows a gateway to omit it)
//! and off by default ([`Forwarding::via_responses`]).
//!
//! # Example
//!
//! ```
//! use frontdoor_upstream::Forwarding;
//!
//! // X-Forwarded-For/-Proto/-Host (the default), plus RFC 7239 and a Via pseudonym.
//! let fwd = Forwarding::default().forwarded(true).via("frontdoor")?;
//! assert!(fwd.is_forwarded());
//! let none = Forwarding::none();
//! assert!(!none.is_x_forwarded_for());
//! # Ok::<(), frontdoor_upstream::UpstreamConfigError>(())
//! ```
//!
//! [`FORWARDING_HEADERS`]: frontdoor_core::proto::FORWARDING_HEADERS

use std::{io::Write as _, net::IpAddr};

use bytes::Bytes;

use frontdoor_core::{
    proto::{
        remove_forwarding_headers,
        rfc7239::{Element, Node, NodeName},
        X_FORWARDED_FOR, X_FORWARDED_HOST, X_FORWARDED_PORT, X_FORWARDED_PROTO, X_REAL_IP,
    },
    ConnInfo, PeerTrust, Resolved,
};
use http::{
    header::{self, Entry, HeaderName},
    request::Parts,
    uri::Scheme,
    HeaderMap, HeaderValue, Version,
};

use crate::UpstreamConfigError;

/// Which forwarding headers [`Upstream`](crate::Upstream) writes. See the
/// [module docs](self).
///
/// Default: `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Host`, `X-Real-IP`
/// and `Via: <version> frontdoor` (requests only) on; `X-Forwarded-Port`, `Forwarded`
/// and `Via` on responses off.
#[derive(Clone, Debug)]
#[must_use]
pub struct Forwarding {
    xff: bool,
    proto: bool,
    host: bool,
    port: bool,
    real_ip: bool,
    forwarded: bool,
    /// `Via` values for HTTP/1.0, HTTP/1.1 and HTTP/2 messages.
    via: Option<[HeaderValue; 3]>,
    via_responses: bool,
}

impl Default for Forwarding {
    fn default() -> Self {
        Self {
            xff: true,
            proto: true,
            host: true,
            port: false,
            real_ip: true,
            forwarded: false,
            via: Some([
                HeaderValue::from_static("1.0 frontdoor"),
                HeaderValue::from_static("1.1 frontdoor"),
                HeaderValue::from_static("2 frontdoor"),
            ]),
            via_responses: false,
        }
    }
}

impl Forwarding {
    /// Writes no forwarding header (inbound copies from untrusted peers are still
    /// removed).
    pub const fn none() -> Self {
        Self {
            xff: false,
            proto: false,
            host: false,
            port: false,
            real_ip: false,
            forwarded: false,
            via: None,
            via_responses: false,
        }
    }

    /// Append the peer to `X-Forwarded-For`. Default: on.
    pub const fn x_forwarded_for(mut self, on: bool) -> Self {
        self.xff = on;
        self
    }

    /// Set `X-Forwarded-Proto` (`http` or `https`). Default: on.
    pub const fn x_forwarded_proto(mut self, on: bool) -> Self {
        self.proto = on;
        self
    }

    /// Set `X-Forwarded-Host` to the Host the client sent. Default: on.
    pub const fn x_forwarded_host(mut self, on: bool) -> Self {
        self.host = on;
        self
    }

    /// Set `X-Forwarded-Port` to the local port the request arrived on. Default: off.
    pub const fn x_forwarded_port(mut self, on: bool) -> Self {
        self.port = on;
        self
    }

    /// Set `X-Real-IP` to the client address (see the [module docs](self)).
    /// Default: on.
    pub const fn x_real_ip(mut self, on: bool) -> Self {
        self.real_ip = on;
        self
    }

    /// Write an RFC 7239 `Forwarded: for=..;host=..;proto=..` element. Default: off.
    pub const fn forwarded(mut self, on: bool) -> Self {
        self.forwarded = on;
        self
    }

    /// Append `Via: <version> <pseudonym>` to requests (and, with
    /// [`via_responses`](Self::via_responses), to responses). Default: on, with the
    /// pseudonym `frontdoor`.
    ///
    /// # Errors
    ///
    /// When `pseudonym` is not a valid header value.
    pub fn via(mut self, pseudonym: &str) -> Result<Self, UpstreamConfigError> {
        let make = |v: &str| {
            HeaderValue::try_from(format!("{v} {pseudonym}")).map_err(|e| {
                UpstreamConfigError::new("via", format!("`{pseudonym}` is not a header value"))
                    .with_source(e)
            })
        };
        self.via = Some([make("1.0")?, make("1.1")?, make("2")?]);
        Ok(self)
    }

    /// Send no `Via` at all. Default: `Via` is sent on requests.
    pub fn no_via(mut self) -> Self {
        self.via = None;
        self
    }

    /// Also append `Via` to the responses relayed to the client (when `Via` is on).
    /// Default: off (RFC 9110 §7.6.3 makes it optional for a gateway; leaving it out
    /// tells the client less about the infrastructure).
    pub const fn via_responses(mut self, on: bool) -> Self {
        self.via_responses = on;
        self
    }

    /// The pseudonym `Via` names (`frontdoor` by default), or `None` when `Via` is off.
    #[must_use]
    pub fn via_pseudonym(&self) -> Option<&str> {
        let value = self.via.as_ref()?[1].to_str().ok()?;
        value.strip_prefix("1.1 ")
    }

    /// Whether `X-Forwarded-For` is written.
    #[must_use]
    pub const fn is_x_forwarded_for(&self) -> bool {
        self.xff
    }

    /// Whether `X-Real-IP` is written.
    #[must_use]
    pub const fn is_x_real_ip(&self) -> bool {
        self.real_ip
    }

    /// Whether `Forwarded` is written.
    #[must_use]
    pub const fn is_forwarded(&self) -> bool {
        self.forwarded
    }

    /// The `Via` value for a response received in `version`, when responses get one.
    pub(crate) fn response_via(&self, version: Version) -> Option<&HeaderValue> {
        if self.via_responses {
            self.via_value(version)
        } else {
            None
        }
    }

    fn via_value(&self, version: Version) -> Option<&HeaderValue> {
        let via = self.via.as_ref()?;
        Some(match version {
            Version::HTTP_09 | Version::HTTP_10 => &via[0],
            Version::HTTP_2 | Version::HTTP_3 => &via[2],
            _ => &via[1],
        })
    }

    /// Rewrites the forwarding headers of an outbound request. `client_host` is the
    /// Host the client asked for (before the Host policy applied).
    pub(crate) fn apply(&self, parts: &mut Parts, client_host: Option<&HeaderValue>) {
        let trust = parts
            .extensions
            .get::<PeerTrust>()
            .copied()
            .filter(|t| t.peer_trusted);
        let trusted = trust.is_some();
        let conn = parts.extensions.get::<ConnInfo>().copied();
        let headers = &mut parts.headers;
        if !trusted {
            // The one list (frontdoor_core::proto::FORWARDING_HEADERS): what the
            // resolver honours (X-Forwarded-Server included), X-Real-IP and the other
            // client-address, original-URL and method-override headers.
            remove_forwarding_headers(headers);
        }
        // The connection's scheme, or the resolver's decision when the peer is
        // trusted (it may have taken it from the peer's forwarding headers); never the
        // request target's scheme.
        let https = match (trusted, parts.extensions.get::<Resolved>(), conn) {
            (true, Some(resolved), _) => resolved.scheme == Scheme::HTTPS,
            (_, _, Some(conn)) => conn.tls,
            _ => false,
        };
        let proto = if https { "https" } else { "http" };
        let peer = conn.map(|c| c.remote.ip());
        if self.xff {
            if let Some(ip) = peer {
                append_with(headers, X_FORWARDED_FOR, |buf| write_ip(buf, ip));
            }
        }
        if self.real_ip {
            // The resolver's client from a trusted proxy; the peer from anyone else
            // (whose X-Real-IP was removed above).
            set_real_ip(headers, trust.map(|t| t.client).or(peer));
        }
        self.write_x_forwarded(headers, proto, client_host, conn);
        if self.forwarded {
            // Written by the shared RFC 7239 writer, which quotes and escapes values
            // that are not tokens (a host containing `"` is quoted, not dropped).
            let mut element = Element::new();
            element.for_node = peer.map(|ip| Node::new(NodeName::Ip(ip), None));
            element.host = client_host.and_then(|h| h.to_str().ok()).map(Into::into);
            element.proto = Some(proto.into());
            append_list(headers, header::FORWARDED, &element.to_string());
        }
        if let Some(via) = self.via_value(parts.version) {
            match headers.entry(header::VIA) {
                // The usual case: the prebuilt value, shared, not rebuilt.
                Entry::Vacant(slot) => {
                    slot.insert(via.clone());
                }
                line @ Entry::Occupied(_) => {
                    fold(line, |buf| buf.extend_from_slice(via.as_bytes()))
                }
            }
        }
    }
}

impl Forwarding {
    /// `X-Forwarded-Proto`, `-Host` and `-Port` where configured; inbound values that
    /// survived (from a trusted peer) are kept.
    fn write_x_forwarded(
        &self,
        headers: &mut HeaderMap,
        proto: &'static str,
        client_host: Option<&HeaderValue>,
        conn: Option<ConnInfo>,
    ) {
        if self.proto {
            if let Entry::Vacant(slot) = headers.entry(X_FORWARDED_PROTO) {
                slot.insert(HeaderValue::from_static(proto));
            }
        }
        if let (true, Some(h)) = (self.host, client_host) {
            if let Entry::Vacant(slot) = headers.entry(X_FORWARDED_HOST) {
                slot.insert(h.clone());
            }
        }
        if let (true, Some(c)) = (self.port, conn) {
            if let Entry::Vacant(slot) = headers.entry(X_FORWARDED_PORT) {
                slot.insert(HeaderValue::from(c.local.port()));
            }
        }
    }
}

/// `X-Real-IP: client` unless the request kept one (from a trusted proxy).
fn set_real_ip(headers: &mut HeaderMap, client: Option<IpAddr>) {
    if let (Entry::Vacant(slot), Some(ip)) = (headers.entry(X_REAL_IP), client) {
        let mut buf = Vec::with_capacity(16);
        write_ip(&mut buf, ip);
        if let Ok(value) = HeaderValue::from_maybe_shared(Bytes::from(buf)) {
            slot.insert(value);
        }
    }
}

/// Writes `ip` as `Display` does, IPv4 without going through `fmt` (it runs on every
/// request).
fn write_ip(buf: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf.push(b'.');
                }
                if octet >= 100 {
                    buf.push(b'0' + octet / 100);
                }
                if octet >= 10 {
                    buf.push(b'0' + octet / 10 % 10);
                }
                buf.push(b'0' + octet % 10);
            }
        }
        // Writing to a Vec cannot fail.
        IpAddr::V6(v6) => {
            let _ = write!(buf, "{v6}");
        }
    }
}

/// Folds every line of `name` into one comma list and appends `item` to it.
pub(crate) fn append_list(headers: &mut HeaderMap, name: HeaderName, item: &str) {
    append_with(headers, name, |buf| buf.extend_from_slice(item.as_bytes()));
}

/// [`append_list`] with the item written by `write` into the value buffer (no
/// intermediate `String`; the buffer becomes the value without a copy).
fn append_with(headers: &mut HeaderMap, name: HeaderName, write: impl FnOnce(&mut Vec<u8>)) {
    fold(headers.entry(name), write);
}

/// [`append_with`] on the header's `entry`.
fn fold(entry: Entry<'_, HeaderValue>, write: impl FnOnce(&mut Vec<u8>)) {
    let mut joined = Vec::with_capacity(48);
    if let Entry::Occupied(line) = &entry {
        for v in line.iter() {
            joined.extend_from_slice(v.as_bytes());
            joined.extend_from_slice(b", ");
        }
    }
    write(&mut joined);
    let Ok(value) = HeaderValue::from_maybe_shared(Bytes::from(joined)) else {
        return;
    };
    match entry {
        // Replaces every inbound line with the folded one.
        Entry::Occupied(mut line) => {
            line.insert(value);
        }
        Entry::Vacant(slot) => {
            slot.insert(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use http::Request;

    use super::*;

    fn parts(trusted: Option<bool>) -> Parts {
        let mut req = Request::builder()
            .uri("/x")
            .header("x-forwarded-for", "9.9.9.9")
            .header("X-Forwarded-For", "8.8.8.8")
            .header("x-forwarded-host", "evil.example")
            .header("forwarded", "for=6.6.6.6")
            .header("x-forwarded-server", "evil.example")
            .header("x-real-ip", "7.7.7.7")
            .header("cf-connecting-ip", "7.7.7.8")
            .header("x-original-url", "/admin")
            .header("x-forwarded-prefix", "/evil")
            .header("x-http-method-override", "DELETE")
            .header("via", "1.1 other")
            .body(())
            .unwrap();
        let peer = "10.0.0.1:5000".parse().unwrap();
        req.extensions_mut()
            .insert(ConnInfo::new("127.0.0.1:8080".parse().unwrap(), peer));
        if let Some(t) = trusted {
            req.extensions_mut()
                .insert(PeerTrust::new(t, "10.0.0.1".parse().unwrap()));
        }
        req.into_parts().0
    }

    fn all() -> Forwarding {
        Forwarding::default()
            .x_forwarded_port(true)
            .forwarded(true)
            .via("fd")
            .unwrap()
    }

    #[test]
    fn untrusted_or_unknown_peers_get_replaced_values() {
        for trust in [None, Some(false)] {
            let mut p = parts(trust);
            let host = HeaderValue::from_static("front.example");
            all().apply(&mut p, Some(&host));
            let h = &p.headers;
            assert_eq!(h.get_all("x-forwarded-for").iter().count(), 1);
            assert_eq!(h["x-forwarded-for"], "10.0.0.1");
            assert_eq!(h["x-forwarded-host"], "front.example");
            assert_eq!(h["x-forwarded-proto"], "http");
            assert_eq!(h["x-forwarded-port"], "8080");
            assert!(
                h.get("x-forwarded-server").is_none(),
                "untrusted x-forwarded-server"
            );
            assert_eq!(h["forwarded"], "for=10.0.0.1;host=front.example;proto=http");
            assert_eq!(h["via"], "1.1 other, 1.1 fd");
            // The client-address headers go; X-Real-IP is ours: the peer.
            assert_eq!(h.get_all("x-real-ip").iter().count(), 1);
            assert_eq!(h["x-real-ip"], "10.0.0.1");
            for name in [
                "cf-connecting-ip",
                "x-original-url",
                "x-forwarded-prefix",
                "x-http-method-override",
            ] {
                assert!(h.get(name).is_none(), "untrusted {name}");
            }
            let mut names: Vec<_> = h.keys().map(HeaderName::as_str).collect();
            names.sort_unstable();
            assert_eq!(
                names,
                [
                    "forwarded",
                    "via",
                    "x-forwarded-for",
                    "x-forwarded-host",
                    "x-forwarded-port",
                    "x-forwarded-proto",
                    "x-real-ip",
                ]
            );
        }
    }

    #[test]
    fn trusted_peers_are_appended_to() {
        let mut p = parts(Some(true));
        let host = HeaderValue::from_static("front.example");
        all().apply(&mut p, Some(&host));
        let h = &p.headers;
        assert_eq!(h.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(h["x-forwarded-for"], "9.9.9.9, 8.8.8.8, 10.0.0.1");
        assert_eq!(h["x-forwarded-host"], "evil.example");
        assert_eq!(
            h["forwarded"],
            "for=6.6.6.6, for=10.0.0.1;host=front.example;proto=http"
        );
        // The rest of the list passes as the trusted proxy sent it.
        for (name, value) in [
            ("x-forwarded-server", "evil.example"),
            ("x-real-ip", "7.7.7.7"),
            ("cf-connecting-ip", "7.7.7.8"),
            ("x-original-url", "/admin"),
            ("x-forwarded-prefix", "/evil"),
            ("x-http-method-override", "DELETE"),
        ] {
            assert_eq!(
                h.get_all(name).iter().collect::<Vec<_>>(),
                [value],
                "{name}"
            );
        }
    }

    #[test]
    fn x_real_ip_from_a_trusted_proxy_that_sent_none_is_the_resolvers_client() {
        let mut p = parts(Some(true));
        p.headers.remove("x-real-ip");
        p.extensions
            .insert(PeerTrust::new(true, "192.0.2.7".parse().unwrap()));
        Forwarding::default().apply(&mut p, None);
        assert_eq!(p.headers["x-real-ip"], "192.0.2.7");
        assert_eq!(p.headers["x-forwarded-for"], "9.9.9.9, 8.8.8.8, 10.0.0.1");
        // Off: an untrusted X-Real-IP is still removed, none is written.
        let mut p = parts(Some(false));
        let off = Forwarding::default().x_real_ip(false);
        assert!(!off.is_x_real_ip());
        off.apply(&mut p, None);
        assert!(p.headers.get("x-real-ip").is_none());
        // Without ConnInfo or trust there is no address to write.
        let mut p = parts(None);
        p.extensions.clear();
        Forwarding::default().apply(&mut p, None);
        assert!(p.headers.get("x-real-ip").is_none());
        assert!(Forwarding::default().is_x_real_ip());
    }

    #[test]
    fn the_forwarded_scheme_is_the_connections_never_the_targets() {
        for trust in [None, Some(false), Some(true)] {
            let mut p = parts(trust);
            p.uri = "https://front.example/x".parse().unwrap();
            Forwarding::default().forwarded(true).apply(&mut p, None);
            if trust != Some(true) {
                assert_eq!(p.headers["x-forwarded-proto"], "http", "{trust:?}");
            }
            assert!(
                p.headers["forwarded"]
                    .to_str()
                    .unwrap()
                    .ends_with("proto=http"),
                "{trust:?}"
            );
        }
        // A TLS connection, or a trusted resolver's decision, says https.
        let mut p = parts(None);
        let conn = *p.extensions.get::<ConnInfo>().unwrap();
        p.extensions.insert(conn.with_tls(true));
        Forwarding::default().apply(&mut p, None);
        assert_eq!(p.headers["x-forwarded-proto"], "https");
        let mut p = parts(Some(true));
        p.headers.remove("x-forwarded-proto");
        p.extensions.insert(Resolved::new(
            Scheme::HTTPS,
            "front.example",
            443,
            "/x",
            frontdoor_core::HostSource::Forwarded,
        ));
        Forwarding::default().apply(&mut p, None);
        assert_eq!(p.headers["x-forwarded-proto"], "https");
    }

    #[test]
    fn via_is_on_by_default_for_requests_only() {
        let fwd = Forwarding::default();
        assert_eq!(fwd.via_pseudonym(), Some("frontdoor"));
        assert!(fwd.response_via(Version::HTTP_11).is_none());
        let mut p = parts(None);
        p.headers.remove("via");
        fwd.apply(&mut p, None);
        assert_eq!(p.headers["via"], "1.1 frontdoor");
        // Inbound lines are folded into one list, ours last.
        let mut p = parts(None);
        p.headers
            .append("via", HeaderValue::from_static("1.0 fred"));
        fwd.apply(&mut p, None);
        let via: Vec<_> = p.headers.get_all("via").iter().collect();
        assert_eq!(via, ["1.1 other, 1.0 fred, 1.1 frontdoor"]);
        let both = Forwarding::default()
            .via("edge")
            .unwrap()
            .via_responses(true);
        assert_eq!(both.response_via(Version::HTTP_2).unwrap(), "2 edge");
        let off = Forwarding::default().no_via();
        assert_eq!(off.via_pseudonym(), None);
        let mut p = parts(None);
        off.apply(&mut p, None);
        assert_eq!(p.headers["via"], "1.1 other");
        assert!(Forwarding::default().via("a\nb").is_err());
    }

    #[test]
    fn ip_addresses_are_written_as_display_does() {
        for ip in [
            "0.0.0.0",
            "1.2.3.4",
            "10.0.0.1",
            "99.100.199.255",
            "127.0.0.1",
            "::1",
            "2001:db8::7",
            "::ffff:1.2.3.4",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut buf = Vec::new();
            write_ip(&mut buf, ip);
            assert_eq!(String::from_utf8(buf).unwrap(), ip.to_string());
        }
    }

    #[test]
    fn ipv6_nodes_and_odd_hosts_are_quoted_and_none_writes_nothing() {
        let mut p = parts(None);
        p.extensions.insert(ConnInfo::new(
            "127.0.0.1:8080".parse().unwrap(),
            "[::1]:5000".parse().unwrap(),
        ));
        let host = HeaderValue::from_static("a\"b");
        Forwarding::none()
            .forwarded(true)
            .apply(&mut p, Some(&host));
        assert!(p.headers.get("via").is_some(), "an inbound Via is kept");
        assert_eq!(
            p.headers["forwarded"],
            r#"for="[::1]";host="a\"b";proto=http"#
        );
        let mut p = parts(None);
        Forwarding::none().apply(&mut p, None);
        assert!(p.headers.get("x-forwarded-for").is_none());
        assert!(p.headers.get("x-real-ip").is_none());
        assert!(p.headers.get("forwarded").is_none());
        assert_eq!(p.headers["via"], "1.1 other");
    }
}
