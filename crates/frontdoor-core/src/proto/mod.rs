//! The HTTP protocol facts every layer needs, each in one place: host and authority
//! parsing with default ports ([`parse_host`], [`request_host`]), the direct
//! resolution of a request's `host:port:path` ([`direct_resolution`]), the one URI
//! path rewrite ([`with_path`], [`rebase`]) and split of a URI reference
//! ([`Reference`]), the forwarding header names and the list stripped from untrusted
//! peers ([`FORWARDING_HEADERS`]), WebDAV's [`DESTINATION`], the hop-by-hop headers
//! ([`hop_by_hop`]), RFC 7239 `Forwarded` parsing and writing ([`rfc7239`]), the
//! request framing a proxy refuses ([`framing`]), how per-client limits group client
//! addresses ([`ClientKey`]), `Accept-Encoding` entries and weights
//! ([`accept_encoding`]), the PROXY protocol header an L4
//! balancer sends before HTTP ([`parse_proxy_header`]), and HTTP/2 header block
//! decoding ([`hpack`]).
//!
//! The resolver, the router's fallback, the upstream's forwarding headers and the
//! relocation layer all call these; nothing is parsed twice with different rules.
//!
//! ```
//! use frontdoor_core::proto::{parse_host, rebase, rfc7239};
//!
//! assert_eq!(parse_host("WWW.Example.com.")?.unwrap().host, "www.example.com");
//! assert_eq!(rebase("/svn/trunk", "/svn", "/repos/proj").as_deref(), Some("/repos/proj/trunk"));
//! let el = rfc7239::elements("for=192.0.2.1;host=\"a\\\"b\"").next().unwrap()?;
//! assert_eq!(el.host.as_deref(), Some("a\"b"));
//! assert_eq!(el.to_string(), "for=192.0.2.1;host=\"a\\\"b\"");
//! # Ok::<(), frontdoor_core::BoxError>(())
//! ```

mod accept;
mod client;
mod direct;
pub mod framing;
pub mod hop_by_hop;
mod host;
pub mod hpack;
mod names;
mod proxy_header;
pub mod rfc7239;
mod uri;

pub use accept::{accept_encoding, qvalue};
pub use client::ClientKey;
pub use direct::{
    connection_scheme, direct_resolution, host_from, local_port, request_host, resolution_path,
    single_host, RequestHead,
};
pub use host::{default_port, parse_host, HostError, HostPort, MAX_HOST_LEN};
pub use names::{
    is_forwarding_header, remove_forwarding_headers, ForwardingPresent, CF_CONNECTING_IP,
    DESTINATION, FASTLY_CLIENT_IP, FORWARDING_HEADERS, TRUE_CLIENT_IP, X_CLIENT_IP,
    X_CLUSTER_CLIENT_IP, X_FORWARDED_FOR, X_FORWARDED_HOST, X_FORWARDED_PORT, X_FORWARDED_PREFIX,
    X_FORWARDED_PROTO, X_FORWARDED_SERVER, X_HTTP_METHOD_OVERRIDE, X_METHOD_OVERRIDE,
    X_ORIGINAL_URL, X_REAL_IP, X_REWRITE_URL,
};
pub use proxy_header::{
    parse_proxy_header, ProxyHeader, ProxyHeaderError, PROXY_V1_MAX_LEN, PROXY_V2_MAX_LEN,
    PROXY_V2_SIGNATURE,
};
pub use uri::{normalize_root, rebase, split_path, strip_root, with_path, Reference};
