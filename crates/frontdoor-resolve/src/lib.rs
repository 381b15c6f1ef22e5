//! Resolver layer: stamps the resolved `host:port:path` into request extensions,
//! trusting forwarded headers only from trusted peers.
//!
//! [`ResolveLayer`] runs a [`Resolver`] once per request, before anything matches,
//! and inserts into the request's extensions:
//!
//! | extension | what |
//! |---|---|
//! | [`Resolved`] | the verdict: scheme, normalised host, port, canonical path, [`HostSource`], optional by-scheme label; `Display` gives WFront's `host:port:path` |
//! | [`OriginalUri`] | the request target as received, if no outer layer recorded it |
//! | [`PeerTrust`] | whether the peer is a trusted proxy, and the client address it vouches for |
//!
//! It does so for every request it lets through, even when nothing will match later,
//! so 404 handlers and logs can see it. Requests it cannot resolve are answered here
//! with **400** (a short `text/plain` body; the detail is logged at `debug`): two `Host`
//! headers, an invalid host, a `Host` that disagrees with the absolute-form authority,
//! no host and no configured server name, a path that
//! [`canonicalize`](frontdoor_core::canonicalize) refuses (NUL, malformed escape), or
//! invalid forwarding data from a trusted proxy (which is also logged at `warn`,
//! naming the header, once per peer per minute: [`forwarding_warnings`]). The service keeps the inner error
//! type; its response body is [`Body`](frontdoor_core::Body), the inner service's body
//! erased into it (free when the inner service already answers with a `Body`, as an
//! axum `Router` or frontdoor's router and upstream do).
//!
//! # Resolvers
//!
//! | resolver | trusts | use |
//! |---|---|---|
//! | [`DirectResolver`] (default) | the request line, `Host`, the connection | servers facing clients directly |
//! | [`ForwardedResolver`] | also `Forwarded` / `X-Forwarded-*`, **only from configured proxy CIDRs** | servers behind reverse proxies |
//! | [`ByScheme`] | wraps another resolver, labels the port (`http`, `https`, ...) by listener, TLS, or the `Host` or socket port | WFront's `by_scheme`, working as documented |
//! | [`TrustAllForwardedHeaders`] | forwarding headers from **anyone** | WFront 0.4 compat only (migrations, golden tests) |
//! | any `Fn(&Parts) -> Result<Resolved, Error>` | what you decide | WFront's custom `host_resolver` |
//!
//! # The path
//!
//! One canonical path string is matched, consumed and forwarded (spec S4): the layer
//! canonicalises `uri().path()` with [`canonicalize_with`](frontdoor_core::canonicalize_with)
//! and, when that changes it, **rewrites the request URI** to the canonical path,
//! keeping the query byte for byte. The original target stays in [`OriginalUri`].
//! The strict resolvers then take [`Resolved::path`] from the rewritten URI, so it is
//! canonical and never includes the query. (The legacy preset reports the raw target
//! with its query, as 0.4 did; the URI is still rewritten.) `OPTIONS *` is left alone.
//!
//! Escaped slashes (`%2F`, `%5C`), raw backslashes and `..;` segments follow the
//! layer's [`EncodedSlash`](frontdoor_core::EncodedSlash) policy
//! ([`ResolveLayer::canonical_options`]): `keep` (the default) forwards them
//! untouched, `reject` answers 400, `decode` decodes `%2F` and `%5C` before anything
//! matches. **Security note:** a backend that decodes `%2F`, treats `\` as a separator
//! or strips `;` parameters before resolving `..` (`/app/..;/admin` is `/admin` to
//! Tomcat) sees another path than the one routed and authorised here; use `reject` (or
//! `decode`) in front of it, server-wide or per route with [`EscapedSlashesLayer`].
//!
//! The policy covers every path forwarded on the client's behalf, so also the path of
//! WebDAV's `Destination` (`COPY`, `MOVE`), an absolute URI or an absolute path, its
//! query and fragment not looked at: `reject` answers 400 for the same bytes there;
//! `decode` decodes it with [`decode_path`](frontdoor_core::decode_path), the request
//! path's own decoding, without resolving dot segments, so a relocation layer further
//! in sees `..%2F` as the `../` it refuses to let climb out of its root; under both, a
//! malformed escape or a NUL there is a 400, as in the request path. `keep` leaves it
//! untouched. A `Destination` of another form (relative, opaque, not text) is left to
//! the layers further in.
//!
//! # Example
//!
//! ```
//! use frontdoor_core::{BoxError, ConnInfo, HostSource, Resolved};
//! use frontdoor_resolve::{ForwardedResolver, ResolveLayer};
//! use http::{Request, Response};
//! use http_body_util::BodyExt;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let resolver = ForwardedResolver::try_new(["10.0.0.0/8"])?.try_server_name("www.example.com")?;
//! let svc = ServiceBuilder::new()
//!     .layer(ResolveLayer::new(resolver))
//!     .service(service_fn(|req: Request<String>| async move {
//!         let resolved = req.extensions().get::<Resolved>().cloned();
//!         Ok::<_, BoxError>(Response::new(format!("{} {}", resolved.unwrap(), req.uri())))
//!     }));
//!
//! // A client behind the trusted proxy 10.0.0.1, asking for /a/../b.
//! let mut req = Request::get("/a/../b?x=%2F")
//!     .header("host", "backend.internal:8080")
//!     .header("x-forwarded-host", "Shop.Example.com")
//!     .header("x-forwarded-proto", "https")
//!     .body(String::new())?;
//! req.extensions_mut().insert(ConnInfo::new("10.0.0.2:8080".parse()?, "10.0.0.1:5000".parse()?));
//! let res = svc.clone().oneshot(req).await?;
//! let body = res.into_body().collect().await?.to_bytes();
//! assert_eq!(body, "shop.example.com:443:/b /b?x=%2F");
//!
//! // Two Host headers: answered with 400 by the layer.
//! let req = Request::get("/").header("host", "a").header("host", "b").body(String::new())?;
//! assert_eq!(svc.oneshot(req).await?.status(), 400);
//! # Ok(())
//! # }
//! ```
//!
//! With axum, wrap the whole axum `Router` in the layer (not `Router::layer`, which
//! runs after axum routed, so the canonical path would not reach axum's routing) and
//! take [`Resolved`] as a handler argument: the extension types are axum extractors
//! (see [`frontdoor_core::extract`]). The forwarded resolver needs
//! [`ConnInfo`](frontdoor_core::ConnInfo) to trust a peer: `axum::serve` inserts none,
//! so wrap the service in the facade's `frontdoor::axum::conn_info`. A request with
//! forwarding headers and no `ConnInfo` resolves directly and logs a warning, once
//! per process.
//!
//! # Tracing
//!
//! Each resolved request gets a `debug`-level span `resolve` with the fields `host`,
//! `port`, `path` and `source`, entered while the inner service is called and polled.
//!
//! # Feature flags
//!
//! This crate has no optional features.
//!
//! [`Resolved`]: frontdoor_core::Resolved
//! [`Resolved::path`]: frontdoor_core::Resolved::path
//! [`HostSource`]: frontdoor_core::HostSource
//! [`OriginalUri`]: frontdoor_core::OriginalUri
//! [`PeerTrust`]: frontdoor_core::PeerTrust
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod by_scheme;
mod destination;
mod direct;
mod error;
pub mod escaped_slashes;
mod forwarded;
pub mod forwarding_warnings;
mod layer;
mod legacy;
mod resolver;

pub use by_scheme::{ByScheme, LabelFrom};
pub use direct::DirectResolver;
pub use error::ResolveConfigError;
pub use escaped_slashes::{EscapedSlashes, EscapedSlashesLayer};
pub use forwarded::{ForwardedResolver, ForwardedSource};
pub use forwarding_warnings::ForwardingWarnings;
/// RFC 7239 `Forwarded` parsing and writing; lives in [`frontdoor_core::proto`].
pub use frontdoor_core::proto::rfc7239;
/// The one list of forwarding headers; lives in [`frontdoor_core::proto`].
pub use frontdoor_core::proto::FORWARDING_HEADERS;
pub use layer::{Resolve, ResolveLayer, ResponseFuture};
pub use legacy::TrustAllForwardedHeaders;
pub use resolver::{Resolution, Resolver};
