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
/// `X-Real-IP`: the client address (nginx's convention).
pub const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
/// `True-Client-IP`: the client address (Akamai, Cloudflare Enterprise).
pub const TRUE_CLIENT_IP: HeaderName = HeaderName::from_static("true-client-ip");
/// `X-Client-IP`: the client address (various load balancers and frameworks).
pub const X_CLIENT_IP: HeaderName = HeaderName::from_static("x-client-ip");
/// `CF-Connecting-IP`: the client address (Cloudflare).
pub const CF_CONNECTING_IP: HeaderName = HeaderName::from_static("cf-connecting-ip");
/// `Fastly-Client-IP`: the client address (Fastly).
pub const FASTLY_CLIENT_IP: HeaderName = HeaderName::from_static("fastly-client-ip");
/// `X-Cluster-Client-IP`: the client address (Rackspace, Riverbed).
pub const X_CLUSTER_CLIENT_IP: HeaderName = HeaderName::from_static("x-cluster-client-ip");
/// `X-Original-URL`: the request target before a proxy rewrote it (IIS, Symfony).
pub const X_ORIGINAL_URL: HeaderName = HeaderName::from_static("x-original-url");
/// `X-Rewrite-URL`: the request target before a rewrite (IIS, Zend, Symfony).
pub const X_REWRITE_URL: HeaderName = HeaderName::from_static("x-rewrite-url");
/// `X-Forwarded-Prefix`: the path prefix a proxy removed (Spring, Traefik).
pub const X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");
/// `X-HTTP-Method-Override`: the method a client asks the application to use instead.
pub const X_HTTP_METHOD_OVERRIDE: HeaderName = HeaderName::from_static("x-http-method-override");
/// `X-Method-Override`: as `X-HTTP-Method-Override`.
pub const X_METHOD_OVERRIDE: HeaderName = HeaderName::from_static("x-method-override");

/// WebDAV's `Destination` (RFC 4918 section 10.3): the URL `COPY` and `MOVE` write
/// to, an absolute URI or an absolute path. The resolver holds its path to the
/// escaped-slash policy; the relocation layer moves it to the upstream's root.
pub const DESTINATION: HeaderName = HeaderName::from_static("destination");

/// Every header through which a peer can claim facts about the original request or
/// override what the application makes of it: RFC 7239 `Forwarded` and the five
/// `X-Forwarded-*` headers the resolver reads (the first six, in
/// `ForwardedSource::ALL` order), then the client-address headers (`X-Real-IP`,
/// `True-Client-IP`, `X-Client-IP`, `CF-Connecting-IP`, `Fastly-Client-IP`,
/// `X-Cluster-Client-IP`), the original-URL headers (`X-Original-URL`,
/// `X-Rewrite-URL`, `X-Forwarded-Prefix`) and the method overrides
/// (`X-HTTP-Method-Override`, `X-Method-Override`).
///
/// This is the one list: both the resolver's `strip_untrusted_forwarded` and the
/// upstream client remove exactly these from requests whose peer is not trusted, and
/// pass them as they came from a trusted proxy. The resolver honours only the first
/// six (and only from trusted peers); the upstream client writes `X-Real-IP` itself.
/// `Connection` can nominate none of them.
///
/// ```
/// use frontdoor_core::proto::{is_forwarding_header, FORWARDING_HEADERS};
/// use http::HeaderName;
///
/// assert_eq!(FORWARDING_HEADERS.len(), 17);
/// assert!(is_forwarding_header(&HeaderName::from_static("x-forwarded-server")));
/// assert!(is_forwarding_header(&HeaderName::from_static("x-real-ip")));
/// assert!(is_forwarding_header(&HeaderName::from_static("x-http-method-override")));
/// assert!(!is_forwarding_header(&http::header::VIA));
/// ```
pub const FORWARDING_HEADERS: [HeaderName; FORWARDING_COUNT] = [
    header::FORWARDED,
    X_FORWARDED_FOR,
    X_FORWARDED_HOST,
    X_FORWARDED_PROTO,
    X_FORWARDED_PORT,
    X_FORWARDED_SERVER,
    X_REAL_IP,
    TRUE_CLIENT_IP,
    X_CLIENT_IP,
    CF_CONNECTING_IP,
    FASTLY_CLIENT_IP,
    X_CLUSTER_CLIENT_IP,
    X_ORIGINAL_URL,
    X_REWRITE_URL,
    X_FORWARDED_PREFIX,
    X_HTTP_METHOD_OVERRIDE,
    X_METHOD_OVERRIDE,
];

/// The length of [`FORWARDING_HEADERS`].
const FORWARDING_COUNT: usize = 17;

/// The position of `name` in [`FORWARDING_HEADERS`]: one `match` on the name's text
/// (compiled to length checks, then byte comparisons), not a walk comparing it with
/// every entry. A test holds it to the list.
fn index_of(name: &HeaderName) -> Option<usize> {
    Some(match name.as_str() {
        "forwarded" => 0,
        "x-forwarded-for" => 1,
        "x-forwarded-host" => 2,
        "x-forwarded-proto" => 3,
        "x-forwarded-port" => 4,
        "x-forwarded-server" => 5,
        "x-real-ip" => 6,
        "true-client-ip" => 7,
        "x-client-ip" => 8,
        "cf-connecting-ip" => 9,
        "fastly-client-ip" => 10,
        "x-cluster-client-ip" => 11,
        "x-original-url" => 12,
        "x-rewrite-url" => 13,
        "x-forwarded-prefix" => 14,
        "x-http-method-override" => 15,
        "x-method-override" => 16,
        _ => return None,
    })
}

/// Whether `name` is one of [`FORWARDING_HEADERS`].
#[must_use]
pub fn is_forwarding_header(name: &HeaderName) -> bool {
    index_of(name).is_some()
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
/// assert!(!present.at(17)); // past the list
/// assert_eq!(FORWARDING_HEADERS[1], X_FORWARDED_FOR);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForwardingPresent(u32);

impl ForwardingPresent {
    /// What `headers` holds.
    #[must_use]
    pub fn of(headers: &http::HeaderMap) -> Self {
        let mut present = 0;
        for name in headers.keys() {
            if let Some(i) = index_of(name) {
                present |= 1 << i;
            }
        }
        Self(present)
    }

    /// Whether the map holds `FORWARDING_HEADERS[index]` (false past the list).
    #[must_use]
    pub fn at(&self, index: usize) -> bool {
        index < FORWARDING_COUNT && self.0 & (1 << index) != 0
    }

    /// Whether the map holds any of them.
    #[must_use]
    pub fn any(&self) -> bool {
        self.0 != 0
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

    #[test]
    fn the_lookup_names_the_list_and_the_list_is_unique() {
        for (i, name) in FORWARDING_HEADERS.iter().enumerate() {
            assert_eq!(index_of(name), Some(i), "{name}");
            assert!(!FORWARDING_HEADERS[..i].contains(name), "{name} twice");
        }
        assert!(FORWARDING_COUNT <= u32::BITS as usize);
        for other in ["x-forwarded", "x-real-ipv6", "host", "via", "x-request-id"] {
            assert_eq!(index_of(&HeaderName::from_static(other)), None, "{other}");
        }
    }

    #[test]
    fn override_and_client_address_headers_are_removed_too() {
        let mut headers = HeaderMap::new();
        for name in FORWARDING_HEADERS {
            headers.append(name, HeaderValue::from_static("forged"));
        }
        headers.append("x-kept", HeaderValue::from_static("1"));
        let present = ForwardingPresent::of(&headers);
        assert!((0..FORWARDING_COUNT).all(|i| present.at(i)));
        remove_forwarding_headers(&mut headers);
        assert_eq!(
            headers.keys().map(HeaderName::as_str).collect::<Vec<_>>(),
            ["x-kept"]
        );
    }
}
