//! Hop-by-hop headers (RFC 9110 section 7.6.1): the fixed list, the ones a
//! `Connection` header nominates, and the two places they are removed.
//!
//! * [`strip`] removes every hop-by-hop header from a message about to be forwarded
//!   (the upstream client calls it in both directions): `Connection` and every header
//!   it nominates, `Keep-Alive`, `Proxy-Connection`, `TE` (a `trailers` token is kept
//!   as `TE: trailers` on requests), `Trailer`, `Transfer-Encoding`, `Upgrade` (unless
//!   an upgrade is being proxied), `HTTP2-Settings` (connection-specific, RFC 9113
//!   §3.2.1: never forwarded, upgrade or not), `Proxy-Authorization` and
//!   `Proxy-Authenticate`.
//! * [`strip_nominated`] runs at ingress, before any layer adds a header: it removes
//!   the headers the client nominated in `Connection` and leaves `Connection` holding
//!   only the `upgrade` token (when the client sent it), so a header a layer adds
//!   later (a cleanup rule's `X-Frontdoor`) can no longer be deleted by a client that
//!   named it.
//!
//! `Connection` cannot nominate headers the proxy itself is responsible for (`Host`,
//! `Content-Length`, `Via` and every [`FORWARDING_HEADERS`] entry): a client listing
//! them does not get them deleted ("Abusing HTTP hop-by-hop request headers").
//!
//! ```
//! use frontdoor_core::proto::hop_by_hop::{strip, strip_nominated, Message};
//! use http::HeaderMap;
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("connection", "keep-alive, X-Secret, Upgrade".parse()?);
//! headers.insert("x-secret", "1".parse()?);
//! headers.insert("upgrade", "websocket".parse()?);
//! strip_nominated(&mut headers);
//! assert!(headers.get("x-secret").is_none());
//! assert_eq!(headers["connection"], "upgrade");
//!
//! headers.insert("x-secret", "added by a layer".parse()?);
//! headers.insert("te", "trailers, gzip".parse()?);
//! headers.insert("http2-settings", "AAMAAABkAAQCAAAAAAIAAAAA".parse()?);
//! strip(&mut headers, Message::Request);
//! assert_eq!(headers["x-secret"], "added by a layer");
//! assert_eq!(headers["te"], "trailers");
//! assert!(headers.get("upgrade").is_none());
//! assert!(headers.get("http2-settings").is_none());
//! # Ok::<(), http::header::InvalidHeaderValue>(())
//! ```
//!
//! [`FORWARDING_HEADERS`]: super::FORWARDING_HEADERS

use http::{
    header::{self, HeaderName},
    HeaderMap, HeaderValue,
};

use super::is_forwarding_header;

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
/// The name `Connection: close` nominates (a header so named is removed too).
const CLOSE: HeaderName = HeaderName::from_static("close");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
/// `HTTP2-Settings` (RFC 9113 §3.2.1): the settings of an h2c upgrade, specific to
/// the connection it was sent on.
const HTTP2_SETTINGS: HeaderName = HeaderName::from_static("http2-settings");

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

/// Whether a `Connection` token may never remove `name`: the proxy sets it itself
/// (`Host`, `Content-Length`, `Via`, and every forwarding header).
fn is_protected(name: &HeaderName) -> bool {
    *name == header::HOST
        || *name == header::CONTENT_LENGTH
        || *name == header::VIA
        || is_forwarding_header(name)
}

/// Removes the hop-by-hop headers from `headers`, a [`Message`] of that kind.
pub fn strip(headers: &mut HeaderMap, message: Message) {
    let keep_upgrade = message.keeps_upgrade();
    // Fast path: one pass over the names instead of ten hashed removals when, as
    // usual, there is nothing to strip.
    if !headers.keys().any(|n| is_hop_by_hop(n, keep_upgrade)) {
        return;
    }
    // Tokens first: `Connection` is removed below.
    remove_nominated(headers, keep_upgrade);
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
        HTTP2_SETTINGS,
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

/// Removes the headers a client nominated in `Connection`, at ingress, before any
/// layer adds headers; `Connection` is left holding only `upgrade` when the client
/// sent that token (the upgrade path needs it), and is removed otherwise. `Upgrade`
/// itself survives a nomination (the upgrade path decides about it), and so do the
/// protected headers. The fixed hop-by-hop list is left to [`strip`].
pub fn strip_nominated(headers: &mut HeaderMap) {
    if !headers.contains_key(header::CONNECTION) {
        return;
    }
    let upgrade = has_token(headers, &header::CONNECTION, "upgrade");
    remove_nominated(headers, true);
    if upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(header::CONNECTION);
    }
}

/// Removes every header `Connection` nominates, except the protected ones and, when
/// `keep_upgrade`, `Upgrade`.
fn remove_nominated(headers: &mut HeaderMap, keep_upgrade: bool) {
    // Only the nominated headers present are collected: the usual `keep-alive` or
    // `close` names nothing the request carries, and allocates nothing.
    let mut nominated: Vec<HeaderName> = Vec::new();
    for token in headers.get_all(header::CONNECTION).iter().flat_map(tokens) {
        let name = if token.eq_ignore_ascii_case(b"keep-alive") {
            KEEP_ALIVE
        } else if token.eq_ignore_ascii_case(b"close") {
            CLOSE
        } else {
            match HeaderName::from_bytes(token) {
                Ok(name) => name,
                Err(_) => continue,
            }
        };
        let kept = is_protected(&name)
            || name == header::CONNECTION
            || (keep_upgrade && name == header::UPGRADE);
        if !kept && headers.contains_key(&name) {
            nominated.push(name);
        }
    }
    for name in nominated {
        headers.remove(name);
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
        || *name == HTTP2_SETTINGS
        || *name == header::PROXY_AUTHORIZATION
        || *name == header::PROXY_AUTHENTICATE
        || (!keep_upgrade && *name == header::UPGRADE)
}

/// The comma-separated tokens of a header value, trimmed, empty ones skipped. Works on
/// bytes, so a non-ASCII value cannot fail.
pub fn tokens(value: &HeaderValue) -> impl Iterator<Item = &[u8]> {
    value
        .as_bytes()
        .split(|b| *b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

/// Whether a header's comma-separated values contain `token` (case-insensitive).
#[must_use]
pub fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
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
            ("http2-settings", "AAMAAABkAAQCAAAAAAIAAAAA"),
            ("x-kept", "1"),
        ]);
        strip(&mut h, Message::Request);
        assert_eq!(h, map(&[("x-kept", "1")]));
    }

    #[test]
    fn http2_settings_never_survives_even_an_upgrade() {
        for message in [
            Message::Request,
            Message::UpgradeRequest,
            Message::Response,
            Message::UpgradeResponse,
        ] {
            let mut h = map(&[
                ("upgrade", "websocket"),
                ("http2-settings", "AAMAAABkAAQCAAAAAAIAAAAA"),
            ]);
            strip(&mut h, message);
            assert!(!h.contains_key("http2-settings"), "{message:?}");
            assert_eq!(
                h.contains_key("upgrade"),
                message.keeps_upgrade(),
                "{message:?}"
            );
        }
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

    #[test]
    fn ingress_removes_what_the_client_nominated_and_keeps_only_upgrade() {
        let mut h = map(&[
            ("connection", "close, x-a, keep-alive, upgrade, host, te"),
            ("x-a", "1"),
            ("keep-alive", "timeout=5"),
            ("upgrade", "websocket"),
            ("host", "h"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("x-kept", "1"),
        ]);
        strip_nominated(&mut h);
        assert_eq!(
            h,
            map(&[
                ("connection", "upgrade"),
                ("upgrade", "websocket"),
                ("host", "h"),
                ("transfer-encoding", "chunked"),
                ("x-kept", "1"),
            ])
        );
        let mut h = map(&[("connection", "close"), ("x-kept", "1")]);
        strip_nominated(&mut h);
        assert_eq!(h, map(&[("x-kept", "1")]));
        let mut h = map(&[("x-kept", "1")]);
        strip_nominated(&mut h);
        assert_eq!(h, map(&[("x-kept", "1")]));
    }

    #[test]
    fn headers_added_after_ingress_survive_the_forwarding_strip() {
        let mut h = map(&[("connection", "x-frontdoor"), ("x-frontdoor", "forged")]);
        strip_nominated(&mut h);
        h.insert("x-frontdoor", HeaderValue::from_static("yes"));
        strip(&mut h, Message::Request);
        assert_eq!(h, map(&[("x-frontdoor", "yes")]));
    }
}
