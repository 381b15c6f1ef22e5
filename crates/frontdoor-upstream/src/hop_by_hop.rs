//! Hop-by-hop header removal (RFC 9110 §7.6.1), applied in both directions.
//!
//! Removes, case-insensitively: `Connection` and every header it nominates,
//! `Keep-Alive`, `Proxy-Connection`, `TE` (a `trailers` token is kept as `TE: trailers`
//! on requests), `Trailer`, `Transfer-Encoding`, `Upgrade` (unless an upgrade is being
//! proxied), `Proxy-Authorization` and `Proxy-Authenticate`.
//!
//! `Connection` cannot nominate headers the proxy itself is responsible for (`Host`,
//! `Content-Length`, `Forwarded`, `X-Forwarded-*`, `Via`): a client listing them does
//! not get them deleted ("Abusing HTTP hop-by-hop request headers").
//!
//! # Example
//!
//! ```
//! use frontdoor_upstream::hop_by_hop::{strip, Message};
//! use http::HeaderMap;
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("connection", "keep-alive, X-Secret".parse()?);
//! headers.insert("x-secret", "1".parse()?);
//! headers.insert("keep-alive", "300".parse()?);
//! headers.insert("te", "trailers, gzip".parse()?);
//! headers.insert("x-kept", "yes".parse()?);
//! strip(&mut headers, Message::Request);
//! assert_eq!(headers.len(), 2);
//! assert_eq!(headers["te"], "trailers");
//! assert_eq!(headers["x-kept"], "yes");
//! # Ok::<(), http::header::InvalidHeaderValue>(())
//! ```

use frontdoor_core::proto::is_forwarding_header;
use http::{
    header::{self, HeaderName},
    HeaderMap, HeaderValue,
};

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Whether a `Connection` token may never remove `name`: the proxy sets it itself
/// (`Host`, `Content-Length`, `Via`, and every forwarding header of
/// [`FORWARDING_HEADERS`](frontdoor_core::proto::FORWARDING_HEADERS)).
fn is_protected(name: &HeaderName) -> bool {
    *name == header::HOST
        || *name == header::CONTENT_LENGTH
        || *name == header::VIA
        || is_forwarding_header(name)
}

/// The message [`strip`] works on, which decides the two exceptions to the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A request: a `TE` listing `trailers` is kept as `TE: trailers`.
    Request,
    /// A request whose upgrade is being proxied: as `Request`, and `Upgrade` survives
    /// (the caller then sets `Connection: upgrade` itself).
    UpgradeRequest,
    /// A response.
    Response,
    /// A `101 Switching Protocols` response: `Upgrade` survives.
    UpgradeResponse,
}

impl Message {
    const fn keeps_upgrade(self) -> bool {
        matches!(self, Self::UpgradeRequest | Self::UpgradeResponse)
    }

    const fn is_request(self) -> bool {
        matches!(self, Self::Request | Self::UpgradeRequest)
    }
}

/// Removes the hop-by-hop headers from `headers`, a [`Message`] of that kind.
pub fn strip(headers: &mut HeaderMap, message: Message) {
    let keep_upgrade = message.keeps_upgrade();
    // Fast path: one pass over the names instead of nine hashed removals when, as
    // usual, there is nothing to strip.
    if !headers.keys().any(|n| is_hop_by_hop(n, keep_upgrade)) {
        return;
    }
    // Tokens first: `Connection` is removed below.
    let nominated: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(tokens)
        .filter_map(|t| HeaderName::from_bytes(t).ok())
        .filter(|n| !is_protected(n))
        .filter(|n| !(keep_upgrade && *n == header::UPGRADE))
        .collect();
    for name in nominated {
        headers.remove(name);
    }
    let te_trailers = message.is_request()
        && headers
            .get_all(header::TE)
            .iter()
            .any(|v| tokens(v).any(|t| t.eq_ignore_ascii_case(b"trailers")));
    for name in [
        header::CONNECTION,
        KEEP_ALIVE,
        PROXY_CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ] {
        headers.remove(name);
    }
    if !keep_upgrade {
        headers.remove(header::UPGRADE);
    }
    if te_trailers {
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
    }
}

/// Whether `name` is one of the fixed hop-by-hop headers (`Connection` included).
fn is_hop_by_hop(name: &HeaderName, keep_upgrade: bool) -> bool {
    *name == header::CONNECTION
        || *name == KEEP_ALIVE
        || *name == PROXY_CONNECTION
        || *name == header::TE
        || *name == header::TRAILER
        || *name == header::TRANSFER_ENCODING
        || *name == header::PROXY_AUTHORIZATION
        || *name == header::PROXY_AUTHENTICATE
        || (!keep_upgrade && *name == header::UPGRADE)
}

/// The comma-separated tokens of a header value, trimmed, empty ones skipped. Works on
/// bytes, so a non-ASCII value cannot fail.
pub(crate) fn tokens(value: &HeaderValue) -> impl Iterator<Item = &[u8]> {
    value
        .as_bytes()
        .split(|b| *b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

/// Whether a header's comma-separated values contain `token` (case-insensitive).
pub(crate) fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .any(|v| tokens(v).any(|t| t.eq_ignore_ascii_case(token.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn strips_the_fixed_set_and_nominated_tokens() {
        let mut h = map(&[
            ("Connection", "keep-alive, X-A"),
            ("connection", " x-b ,,Upgrade"),
            ("x-a", "1"),
            ("X-B", "2"),
            ("keep-alive", "300"),
            ("proxy-connection", "keep-alive"),
            ("te", "gzip"),
            ("trailer", "x-t"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic x"),
            ("proxy-authenticate", "Basic"),
            ("x-kept", "1"),
        ]);
        strip(&mut h, Message::Request);
        assert_eq!(h, map(&[("x-kept", "1")]));
    }

    #[test]
    fn upgrade_can_be_kept_and_protected_headers_survive() {
        let mut h = map(&[
            (
                "connection",
                "Upgrade, host, x-forwarded-for, content-length",
            ),
            ("upgrade", "websocket"),
            ("host", "a"),
            ("x-forwarded-for", "1.2.3.4"),
            ("content-length", "0"),
        ]);
        strip(&mut h, Message::UpgradeRequest);
        assert_eq!(
            h,
            map(&[
                ("upgrade", "websocket"),
                ("host", "a"),
                ("x-forwarded-for", "1.2.3.4"),
                ("content-length", "0"),
            ])
        );
    }

    #[test]
    fn te_trailers_is_kept_on_requests_only() {
        let mut h = map(&[("te", "deflate, Trailers")]);
        strip(&mut h, Message::Request);
        assert_eq!(h["te"], "trailers");
        let mut h = map(&[("te", "trailers")]);
        strip(&mut h, Message::Response);
        assert!(h.is_empty());
    }

    #[test]
    fn non_ascii_connection_values_do_not_panic() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_bytes(b"\xff\xfe, x-a").unwrap(),
        );
        h.insert("x-a", HeaderValue::from_static("1"));
        strip(&mut h, Message::Request);
        assert!(h.is_empty());
    }
}
