//! WFront's `by_scheme`: route on `host:scheme-label:path`.
//!
//! [`by_scheme`] puts a by-scheme resolver in front of a router compiled with the
//! same [`Schemes`] table, so that a spec such as `www.example.com:http:/` matches
//! a request to any of the `http` label's ports, and regex specs see the label in
//! place of the port (`www.example.com:http:/path`). WFront 0.4 computed the label
//! and threw it away; this is the intended behaviour.
//!
//! **Which port?** By default, the port in `Host`, as WFront: the client names it.
//! When a listener must be reachable only on its own socket (an admin listener), label
//! it with [`ByScheme::listener`] and use [`by_scheme_with`]; or label every request by
//! its local socket port with [`LabelFrom::Socket`]. One order decides the label: the
//! listener's label where one is set, else `https` on a TLS connection, else the
//! port's label (the `Host` port by default, the socket's with `LabelFrom::Socket`).
//! Listener and socket labels need [`ConnInfo`](frontdoor_core::ConnInfo) on the
//! request: [`serve`](crate::serve) inserts it; under `axum::serve` use
//! `frontdoor::axum::conn_info` (feature `axum`).
//!
//! # Example
//!
//! ```
//! use frontdoor::{by_scheme::by_scheme, core::{ConnInfo, Schemes}, demo, Body};
//! use frontdoor::resolve::DirectResolver;
//! use frontdoor::route::Router;
//! use http::Request;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor::BoxError> {
//! let schemes = Schemes::new().with("http", [80, 8000, 8001]);
//! let router = Router::builder().route("www.example.com:http:/", demo::echo());
//! let svc = by_scheme(schemes, DirectResolver::new(), router)?;
//!
//! for (port, status) in [(8001, 200), (443, 404)] {
//!     let mut req = Request::get("/").header("host", format!("www.example.com:{port}")).body(Body::empty())?;
//!     req.extensions_mut().insert(ConnInfo::new(([127, 0, 0, 1], port).into(), ([127, 0, 0, 1], 5000).into()));
//!     assert_eq!(svc.clone().oneshot(req).await?.status(), status);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! An admin listener: its routes are reached on its socket only, whatever `Host`
//! says, and the rest go to the fallback (here a 404).
//!
//! ```
//! use frontdoor::{by_scheme::by_scheme_with, core::{ConnInfo, Schemes}, demo, Body};
//! use frontdoor::resolve::{ByScheme, DirectResolver};
//! use frontdoor::route::Router;
//! use http::Request;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor::BoxError> {
//! let resolver = ByScheme::new(DirectResolver::new(), Schemes::new())
//!     .listener("127.0.0.1:9443".parse()?, "admin");
//! let router = Router::builder().route("*:admin", demo::echo());
//! let svc = by_scheme_with(resolver, router)?;
//!
//! for (socket, host, status) in [(9443, "example.com", 200), (8080, "example.com:9443", 404)] {
//!     let mut req = Request::get("/").header("host", host).body(Body::empty())?;
//!     req.extensions_mut().insert(ConnInfo::new(([127, 0, 0, 1], socket).into(), ([127, 0, 0, 1], 5000).into()));
//!     assert_eq!(svc.clone().oneshot(req).await?.status(), status, "{socket} {host}");
//! }
//! # Ok(())
//! # }
//! ```

use frontdoor_core::Schemes;
pub use frontdoor_resolve::{ByScheme, LabelFrom};
use frontdoor_resolve::{Resolve, ResolveLayer, Resolver};
use frontdoor_route::{RouteError, Router, RouterBuilder};
use tower::Layer;

/// Builds `router` with `schemes` and puts `resolver`, wrapped in [`ByScheme`] with
/// the same table, in front of it. See the [module docs](self).
///
/// # Errors
///
/// The router's [`RouteError`] (an unknown label in a spec is one).
pub fn by_scheme<R: Resolver>(
    schemes: Schemes,
    resolver: R,
    router: RouterBuilder,
) -> Result<Resolve<Router, ByScheme<R>>, RouteError> {
    by_scheme_with(ByScheme::new(resolver, schemes), router)
}

/// Builds `router` with the table of `resolver` (listener labels included) and puts
/// `resolver` in front of it: for a [`ByScheme`] configured beyond its table, with
/// [`ByScheme::listener`] or [`ByScheme::label_from`]. See the [module docs](self).
///
/// # Errors
///
/// The router's [`RouteError`] (an unknown label in a spec is one).
pub fn by_scheme_with<R: Resolver>(
    resolver: ByScheme<R>,
    router: RouterBuilder,
) -> Result<Resolve<Router, ByScheme<R>>, RouteError> {
    let router = router.schemes(resolver.schemes().clone()).build()?;
    Ok(ResolveLayer::new(resolver).layer(router))
}
