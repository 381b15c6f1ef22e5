//! WFront's `by_scheme`: route on `host:scheme-label:path`.
//!
//! [`by_scheme`] puts a by-scheme resolver in front of a router compiled with the
//! same [`Schemes`] table, so that a spec such as `www.example.com:http:/` matches
//! a request to any of the `http` label's ports, and regex specs see the label in
//! place of the port (`www.example.com:http:/path`). WFront 0.4 computed the label
//! and threw it away; this is the intended behaviour.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use frontdoor::{by_scheme::by_scheme, core::{ConnInfo, Schemes}, demo, Body};
//! use frontdoor::resolve::DirectResolver;
//! use frontdoor::route::Router;
//! use http::Request;
//! use tower::{util::BoxCloneSyncService, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor::BoxError> {
//! let schemes = Schemes::new().with("http", [80, 8000, 8001]);
//! let echo = BoxCloneSyncService::new(demo::echo());
//! let router = Router::builder().route("www.example.com:http:/", echo);
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

use frontdoor_core::Schemes;
use frontdoor_resolve::{ByScheme, Resolve, ResolveLayer, Resolver};
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
    let router = router.schemes(schemes.clone()).build()?;
    Ok(ResolveLayer::new(ByScheme::new(resolver, schemes)).layer(router))
}
