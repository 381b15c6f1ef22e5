//! Hop-by-hop header removal (RFC 9110 §7.6.1), applied in both directions.
//!
//! The list and the rules live in [`frontdoor_core::proto::hop_by_hop`] (one owner
//! per protocol fact); this module re-exports them where the upstream client's users
//! have always found them.
//!
//! Removes, case-insensitively: `Connection` and every header it nominates,
//! `Keep-Alive`, `Proxy-Connection`, `TE` (a `trailers` token is kept as `TE: trailers`
//! on requests), `Trailer`, `Transfer-Encoding`, `Upgrade` (unless an upgrade is being
//! proxied), `HTTP2-Settings` (always: RFC 9113 §3.2.1), `Proxy-Authorization` and
//! `Proxy-Authenticate`.
//!
//! `Connection` cannot nominate headers the proxy itself is responsible for (`Host`,
//! `Content-Length`, `Via` and every forwarding header: `Forwarded`, `X-Forwarded-*`,
//! `X-Real-IP` and the rest of
//! [`FORWARDING_HEADERS`](frontdoor_core::proto::FORWARDING_HEADERS)): a client listing
//! them does not get them deleted ("Abusing HTTP hop-by-hop request headers").
//! Headers a client nominates are removed at ingress too, before any layer adds its
//! own ([`strip_nominated`], which `frontdoor::serve` and `frontdoor::ingress` run), so
//! a client cannot delete what a layer added.
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

pub use frontdoor_core::proto::hop_by_hop::{strip, strip_nominated, Message};

pub(crate) use frontdoor_core::proto::hop_by_hop::{has_token, tokens};
