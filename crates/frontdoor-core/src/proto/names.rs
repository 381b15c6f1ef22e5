//! The forwarding header names, and the one list of them that a proxy must not take
//! from an untrusted peer.

use http::{header, HeaderName};

/// `X-Forwarded-For`: the chain of client addresses.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Host`: the host the client asked for.
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// `X-Forwarded-Proto`: `http` or `https`, as the client connected.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Port`: the port the client connected to.
pub const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
/// `X-Forwarded-Server`: the forwarding proxy's server name (WFront's fallback host).
pub const X_FORWARDED_SERVER: HeaderName = HeaderName::from_static("x-forwarded-server");

/// Every header through which a peer can claim facts about the original request:
/// RFC 7239 `Forwarded` and the five `X-Forwarded-*` headers.
///
/// This is the one list: the resolver honours only these (and only from trusted
/// peers), and both the resolver's `strip_untrusted_forwarded` and the upstream client
/// remove exactly these from requests whose peer is not trusted.
///
/// ```
/// use frontdoor_core::proto::{is_forwarding_header, FORWARDING_HEADERS};
/// use http::HeaderName;
///
/// assert_eq!(FORWARDING_HEADERS.len(), 6);
/// assert!(is_forwarding_header(&HeaderName::from_static("x-forwarded-server")));
/// assert!(!is_forwarding_header(&http::header::VIA));
/// ```
pub const FORWARDING_HEADERS: [HeaderName; 6] = [
    header::FORWARDED,
    X_FORWARDED_FOR,
    X_FORWARDED_HOST,
    X_FORWARDED_PROTO,
    X_FORWARDED_PORT,
    X_FORWARDED_SERVER,
];

/// Whether `name` is one of [`FORWARDING_HEADERS`].
#[must_use]
pub fn is_forwarding_header(name: &HeaderName) -> bool {
    FORWARDING_HEADERS.contains(name)
}

/// Removes every [`FORWARDING_HEADERS`] entry from `headers`.
///
/// One pass over the map's names first, so the common case (a client that sent none)
/// costs no hashed removal.
pub fn remove_forwarding_headers(headers: &mut http::HeaderMap) {
    if headers.keys().any(is_forwarding_header) {
        for name in &FORWARDING_HEADERS {
            headers.remove(name);
        }
    }
}
