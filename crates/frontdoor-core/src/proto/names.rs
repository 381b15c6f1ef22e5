//! The forwarding header names, and the one list of them that a proxy must not take
//! from an untrusted peer; WebDAV's `Destination`, the request header that names a
//! second path.

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

/// WebDAV's `Destination` (RFC 4918 section 10.3): the URL `COPY` and `MOVE` write
/// to, an absolute URI or an absolute path. The resolver holds its path to the
/// escaped-slash policy; the relocation layer moves it to the upstream's root.
pub const DESTINATION: HeaderName = HeaderName::from_static("destination");

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
pub const FORWARDING_HEADERS: [HeaderName; FORWARDING_COUNT] = [
    header::FORWARDED,
    X_FORWARDED_FOR,
    X_FORWARDED_HOST,
    X_FORWARDED_PROTO,
    X_FORWARDED_PORT,
    X_FORWARDED_SERVER,
];

/// The length of [`FORWARDING_HEADERS`].
const FORWARDING_COUNT: usize = 6;

/// Whether `name` is one of [`FORWARDING_HEADERS`].
#[must_use]
pub fn is_forwarding_header(name: &HeaderName) -> bool {
    FORWARDING_HEADERS.contains(name)
}

/// Which of [`FORWARDING_HEADERS`] a header map holds, found in one pass over its
/// names: a reader that looks at several of them asks this instead of hashing each
/// name into the map (the common request carries none, or only `X-Forwarded-For`).
///
/// ```
/// use frontdoor_core::proto::{ForwardingPresent, FORWARDING_HEADERS, X_FORWARDED_FOR};
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// assert!(!ForwardingPresent::of(&headers).any());
/// headers.insert(X_FORWARDED_FOR, HeaderValue::from_static("192.0.2.1"));
/// let present = ForwardingPresent::of(&headers);
/// assert!(present.any());
/// assert!(present.at(1)); // FORWARDING_HEADERS[1] is X-Forwarded-For
/// assert!(!present.at(0));
/// assert_eq!(FORWARDING_HEADERS[1], X_FORWARDED_FOR);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForwardingPresent([bool; FORWARDING_COUNT]);

impl ForwardingPresent {
    /// What `headers` holds.
    #[must_use]
    pub fn of(headers: &http::HeaderMap) -> Self {
        let mut present = [false; FORWARDING_COUNT];
        for name in headers.keys() {
            if let Some(i) = FORWARDING_HEADERS.iter().position(|f| f == name) {
                present[i] = true;
            }
        }
        Self(present)
    }

    /// Whether the map holds `FORWARDING_HEADERS[index]` (false past the list).
    #[must_use]
    pub fn at(&self, index: usize) -> bool {
        self.0.get(index).copied().unwrap_or(false)
    }

    /// Whether the map holds any of them.
    #[must_use]
    pub fn any(&self) -> bool {
        self.0.contains(&true)
    }
}

/// Removes every [`FORWARDING_HEADERS`] entry from `headers`.
///
/// One pass over the map's names first ([`ForwardingPresent`]), then a hashed
/// removal only of the names present: the common cases (a client that sent none, or
/// only `X-Forwarded-For`) cost none or one.
pub fn remove_forwarding_headers(headers: &mut http::HeaderMap) {
    let present = ForwardingPresent::of(headers);
    for (i, name) in FORWARDING_HEADERS.iter().enumerate() {
        if present.at(i) {
            headers.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue};

    use super::*;

    #[test]
    fn removes_every_line_of_every_forwarding_header_and_nothing_else() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x-forwarded-for", "1.2.3.4"),
            ("via", "1.1 a"),
            ("X-Forwarded-For", "5.6.7.8"),
            ("forwarded", "for=1.2.3.4"),
            ("x-forwarded-server", "evil"),
            ("x-forwarded-hostname", "kept"),
            ("host", "a.example"),
        ] {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_static(value),
            );
        }
        remove_forwarding_headers(&mut headers);
        let mut left: Vec<_> = headers.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["host", "via", "x-forwarded-hostname"]);
        assert_eq!(headers.len(), 3);

        let before = headers.clone();
        remove_forwarding_headers(&mut headers);
        assert_eq!(headers, before);
    }
}
