//! WFront-style router: an ordered table of `host:port:path` specs, first match wins,
//! with a default service and an abort404 service.
//!
//! * [`Router`] is a `tower::Service`; [`RouteLayer`] mounts the same table in front of
//!   an existing service, which becomes the default.
//! * Specs (see [`spec`] for the grammar): `host:port:path`, empty or `*`
//!   fields mean "any", host globs `*.example.com` stay inside the host, ports are
//!   numbers or scheme labels (`host:https`), paths are prefixes on segment
//!   boundaries, `\*` is a literal star, everything after the second colon is the
//!   path. [`RouteSpec::regex`] is the escape hatch: a regex matched against
//!   `host:port:path` whose named group `pathinfo` drives consumption.
//! * The matched path prefix moves from path info to script name
//!   ([`frontdoor_core::Mount`]); the route's service sees the rest in `uri()`, query
//!   kept, so routers nest. A route added with [`Prefix::Keep`] (through
//!   [`RouteOptions`]) keeps it: its service sees the whole path.
//!   [`frontdoor_core::MatchedRoute`] records the route.
//! * The table is compiled into an index ([`Table`]): the cost of a lookup does not
//!   grow with the number of routes, and precedence is still the table order.
//! * Every invalid or duplicate spec fails at build time with a [`RouteError`] naming
//!   it. Nothing panics on the request path; a request whose path or Host cannot be
//!   used is answered 400.
//! * [`Mode::Wfront04`] reproduces WFront 0.4's matching (cross-field lazy globs,
//!   unanchored prefixes, length-based consumption) for migrations; [`Mode::Strict`]
//!   is the default.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use frontdoor_core::{text_response, Body, BoxError, MatchedRoute, Mount};
//! use frontdoor_route::{RouteSpec, Router};
//! use http::{Request, Response, StatusCode};
//! use tower::{service_fn, ServiceExt};
//!
//! /// Answers with what the router left for it: script name, URI and route index.
//! async fn show(req: Request<Body>) -> Result<Response<Body>, Infallible> {
//!     let mount = Mount::of(&req);
//!     let route = req.extensions().get::<MatchedRoute>().map_or(99, |m| m.index);
//!     Ok(text_response(
//!         StatusCode::OK,
//!         format!("route {route}: {} {}", mount.script_name(), req.uri()),
//!     ))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let router = Router::builder()
//!     .define("domain", "example.com")
//!     .route("www.{domain}:https:/svn", service_fn(show))
//!     .route("*.{domain}", service_fn(show))
//!     .route(RouteSpec::regex(r"[^:]+:8080:(?P<pathinfo>/v[0-9]+)"), service_fn(show))
//!     .path("/static", service_fn(show))
//!     .build()?;
//! assert_eq!(
//!     router.dump_mappings(),
//!     ["www.example.com:https:/svn", "*.example.com:*:*", "[^:]+:8080:(?P<pathinfo>/v[0-9]+)", "*:*:/static"],
//! );
//!
//! async fn get(router: &Router, uri: &str, host: &str) -> Result<String, BoxError> {
//!     let req = Request::builder().uri(uri).header("host", host).body(Body::empty())?;
//!     let res = router.clone().oneshot(req).await?;
//!     let status = res.status();
//!     let body = http_body_util::BodyExt::collect(res.into_body()).await?.to_bytes();
//!     Ok(format!("{} {}", status.as_u16(), String::from_utf8(body.to_vec())?.trim_end()))
//! }
//!
//! // The port decides `https` (443 here); a client's `https://` target does not (only
//! // the connection's `ConnInfo` could make 443 the default).
//! assert_eq!(get(&router, "/svn/trunk?r=1", "www.example.com:443").await?, "200 route 0: /svn /trunk?r=1");
//! assert_eq!(get(&router, "https://www.example.com/svn/trunk?r=1", "").await?, "200 route 1:  https://www.example.com/svn/trunk?r=1");
//! assert_eq!(get(&router, "/svnx", "www.example.com").await?, "200 route 1:  /svnx");
//! assert_eq!(get(&router, "/v2/users", "api.org:8080").await?, "200 route 2: /v2 /users");
//! assert_eq!(get(&router, "/static/a.css", "cdn.org").await?, "200 route 3: /static /a.css");
//! assert_eq!(get(&router, "/other", "cdn.org").await?, "404 Not Found");
//! # Ok(())
//! # }
//! ```
//!
//! # Modules
//!
//! * [`spec`]: the spec language, [`Mode`], [`RouteSpec`];
//! * [`table`]: the pure, I/O-free matching core ([`Table`], [`Target`]);
//! * [`router`]: the tower glue ([`Router`], [`RouteLayer`],
//!   [`RouterBuilder`], [`RouteOptions`], [`Prefix`], [`Filter`], [`NotFound`]).
//!
//! # Feature flags
//!
//! | feature | default | what it enables |
//! |---|---|---|
//! | (none) | | this crate has no optional features; `regex` and `tower/util` are always on |
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
pub mod router;
pub mod spec;
pub mod table;
mod wfront;

pub use error::{RouteError, RouteErrorKind};
pub use router::{
    Filter, IntoRouteService, NotFound, Prefix, ResponseFuture, RouteLayer, RouteOptions,
    RouteService, Router, RouterBuilder, WFRONT04_NOT_FOUND_BODY,
};
pub use spec::{Mode, RouteSpec};
pub use table::{Consume, Match, Table, Target};
