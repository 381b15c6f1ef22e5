//! Concepts: what a request carries through frontdoor, and the layer order that works.
//!
//! This page has no code of its own; it explains the few ideas every layer shares.
//!
//! # The resolved `host:port:path`
//!
//! The resolver layer ([`resolve::ResolveLayer`](crate::resolve::ResolveLayer)) runs
//! once per request, before anything matches, and stamps a
//! [`Resolved`](crate::core::Resolved) extension: which virtual host, port and path
//! the request is for. `Display` prints WFront's `host:port:path`
//! (`www.example.com:443:/svn/trunk`); regex route specs match that string.
//!
//! * **host**: from the absolute-form target or `Host`, or, from trusted proxies
//!   only, from `Forwarded` / `X-Forwarded-Host`; normalised (lowercase, no trailing
//!   dot). [`HostSource`](crate::core::HostSource) says which.
//! * **port**: the explicit port, else the scheme's default (443 on TLS or behind a
//!   trusted proxy's `proto=https`). A by-scheme resolver adds a **label**
//!   (`http`, `https`, `admin`) shown in place of the port (see [`by_scheme`](crate::by_scheme)).
//! * **path**: canonical ([`canonicalize`](crate::core::canonicalize): `.` and `..`
//!   resolved, `%7e` decoded, `//` merged, `%2F` kept opaque), without the query.
//!   The resolver also **rewrites the request URI** to that path (query kept byte for
//!   byte), so everything behind it, frontdoor's router and axum's alike, matches the
//!   same string; the target as received stays in
//!   [`OriginalUri`](crate::core::OriginalUri).
//!
//! Trust comes from the connection: [`ConnInfo`](crate::core::ConnInfo) (local and
//! peer address, TLS) is inserted by [`serve`](crate::serve), by
//! `frontdoor::axum::conn_info` under `axum::serve`, or by
//! [`conn::ConnInfoLayer`](crate::conn::ConnInfoLayer) in a hyper accept loop.
//! Without it no peer is trusted; a request that then brings forwarding headers logs a
//! warning, once per process.
//!
//! # Script name and path info
//!
//! When a route with a path prefix matches, the router moves the prefix from the
//! **path info** to the **script name** (WSGI's `SCRIPT_NAME` / `PATH_INFO`, kept in
//! the [`Mount`](crate::core::Mount) extension) and rewrites the URI to the rest:
//! behind `::/svn`, a request for `/svn/trunk?r=1` reaches the route's service as
//! `/trunk?r=1`, with script name `/svn`. Routers nest (an inner router sees only what
//! is left), the upstream joins the path info to its base path (`/repos/trunk`), and
//! relocation uses the script name as the public root. `script_name + path_info` is
//! always the full canonical path. A request no route consumed has script name `""`.
//!
//! # The layer order that works
//!
//! ```text
//! serve / axum::serve (+ conn_info) / hyper (+ ConnInfoLayer)   ConnInfo
//!   resolve            Resolved, PeerTrust, OriginalUri; canonical URI; 400s
//!     routes           MatchedRoute, Mount; first match wins; misses -> the inner service
//!       per route:  [cleanup filter] -> [rate limit] -> [redirect_https] -> gateway_errors
//!                     -> [request buffer] -> [in-flight limit] -> [compress] -> relocate
//!                     -> mirror -> Upstream
//!   (the plan adds request IDs and trace context after resolve, and an upstream span
//!    in front of the Upstream: crate::telemetry)
//!     the inner service: your app (an axum Router, a service_fn), or a 404
//! ```
//!
//! * **resolve first**, so every later decision (routing, cleanup templates,
//!   relocation's public root, forwarded headers to the upstream) uses one verdict.
//! * **routes** inside it. `Router::builder().into_layer()` makes the wrapped service
//!   the fallback: frontdoor routes take what they match, the app gets the rest.
//! * **per route**, outermost first: the cleanup filter (it edits the request as the
//!   route received it), a rate limit ([`rate_limit`](crate::rate_limit): a request
//!   over it is answered 429 before anything costs; a `header:NAME` key captures its
//!   header in front of the cleanup filter), `redirect_https` (a plaintext request gets its 308 before
//!   anything else runs), `gateway_errors` (upstream failures become 502/503/504; it
//!   takes any inner body), the request buffer (`upstream::RequestBufferLayer`: a
//!   body that trickles in holds nothing below it), an in-flight limit (tower's
//!   `ConcurrencyLimit` under `LoadShed`), [`compress`](crate::compress) (answers
//!   compressed for clients that accept it; outside `relocate`, so a rewritten page is
//!   compressed after its rewrite), `relocate` (public root ↔ upstream root in
//!   headers and bodies; a compressed body, gzip, deflate, br or zstd, is decoded for
//!   its rewrite and compressed again when the client accepts that coding, else sent
//!   uncompressed, so the client's `Accept-Encoding` goes to the upstream as it is),
//!   `mirror` (so the shadow receives exactly what the upstream does), then the
//!   upstream client. [`plan`](crate::plan) builds every route in
//!   this order (the `frontdoor` binary's stack is a plan); the bracketed layers are
//!   optional.
//! * Backpressure-sensitive layers (concurrency limits, load shedding) go outside
//!   the router, which is always ready, or inside a route.
//! * Response compression (tower-http's `CompressionLayer`) goes outside `relocate`,
//!   never between it and the upstream: `relocate` decodes what the upstream
//!   compressed itself (capped per body by `RelocateLayer::max_decoded_body`, the
//!   binary's `[server] max_decoded_body`), and what it sends on already compressed
//!   is left alone by a compressor outside it.
//!
//! The same stack, with a local app as the fallback:
//!
//! ```
//! use std::convert::Infallible;
//!
//! use frontdoor::{core::{Mount, Resolved}, Body, ServiceBuilderExt};
//! use frontdoor::{cleanup::Rules, relocate::{Profile, RelocateLayer}, resolve::DirectResolver, route::Router};
//! use http::{Request, Response};
//! use http_body_util::BodyExt;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor::BoxError> {
//! // Stands in for the upstream at http://origin/repos: a redirect with its own URL.
//! let upstream = tower::service_fn(|req: Request<Body>| async move {
//!     let location = format!("http://origin/repos{}", req.uri().path());
//!     Ok::<_, Infallible>(Response::builder().status(302).header("location", location).body(Body::empty()).unwrap())
//! });
//! let svn = ServiceBuilder::new()
//!     .cleanup(Rules::builder().remove(http::header::COOKIE).build()?)
//!     .gateway_errors()
//!     .relocate(RelocateLayer::new(Profile::Plain).remote_root("http://origin/repos".parse()?))
//!     .service(upstream);
//! let app = tower::service_fn(|req: Request<Body>| async move {
//!     let resolved = req.extensions().get::<Resolved>().unwrap().to_string();
//!     let mount = Mount::of(&req);
//!     Ok::<_, Infallible>(Response::new(Body::from(format!("app: {resolved} [{}]", mount.script_name()))))
//! });
//! let svc = ServiceBuilder::new()
//!     .resolve(DirectResolver::new())
//!     .routes(Router::builder().route("::/svn", svn).into_layer()?)
//!     .service(app);
//!
//! let get = |path: &str| Request::get(path).header("host", "www.example.com").body(Body::empty()).unwrap();
//! // The route: prefix consumed, the upstream's redirect moved back under /svn.
//! let res = svc.clone().oneshot(get("/svn/trunk")).await?;
//! assert_eq!(res.headers()["location"], "http://www.example.com/svn/trunk");
//! // A miss reaches the app, after canonicalisation.
//! let res = svc.oneshot(get("/a/../hello")).await?;
//! let body = res.into_body().collect().await?.to_bytes();
//! assert_eq!(body, "app: www.example.com:80:/hello []");
//! # Ok(())
//! # }
//! ```
//!
//! # Where each layer goes relative to axum's router
//!
//! | layer | where | why |
//! |---|---|---|
//! | resolve | **around** the axum `Router`: `ServiceBuilder::new().resolve(..).service(app)` | `Router::layer` runs after axum has routed: the canonical path would not reach axum's routing |
//! | frontdoor routes | **inside** the axum `Router`, as route services: `route_service("/api/{*rest}", router)` (a `route::Router` or a plan's service); or around it with `.routes(..)`, taking requests before axum does | inside, the `Router`'s tower-http layers cover them too |
//! | cleanup | per frontdoor route (a filter), or around the app | it edits the request before whoever handles it |
//! | relocate, mirror, gateway_errors | inside a frontdoor route, in front of its upstream | they concern one upstream |
//! | tower-http (trace, timeout, compression) | on the axum `Router` with `Router::layer`, as axum documents (covering frontdoor routes that are route services); or inside a frontdoor route | `axum::serve` wants the stack's response body to be axum's `Body`, which these layers change and `Router::layer` maps back; around the whole stack they need `.map_response(\|r\| r.map(Body::new))` outside them |
//! | `conn_info` | around everything, as the make-service given to `axum::serve` | it runs once per connection |
//!
//! Handlers read what the layers stamped with extractors: `resolved: Resolved`,
//! `mount: Mount`, `trust: PeerTrust`, `route: Option<MatchedRoute>` (feature
//! `axum`; see `frontdoor::axum`). No body is converted anywhere:
//! [`Body`](crate::Body) is axum's body type.
//!
//! The runnable examples in the workspace's `examples/` folder show each way of using
//! frontdoor end to end: an axum app, the same on bare hyper, `by_scheme` with an admin
//! listener, the forwarded resolver alone, relocation alone, cleanup rules alone, and
//! the seeds' demos (proxylet's mapper, WFront's Pound and Apache recipes).
