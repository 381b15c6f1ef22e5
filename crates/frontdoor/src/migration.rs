//! Migrating to frontdoor from WFront, proxylet, rouille's `proxy` and nginx.
//!
//! This page has no code of its own: it maps what each of frontdoor's ancestors (and
//! nginx) calls a feature to the frontdoor type, method or config key that does it.
//! Where frontdoor behaves differently on purpose, the third column says how.
//!
//! # From WFront (Python WSGI routing)
//!
//! | WFront | frontdoor | note |
//! |---|---|---|
//! | `wfront.route(mapping, default=..., abort404=...)` | [`route::Router::builder`](crate::route::Router::builder)`.route(spec, svc)`, `.fallback(svc)`; or `.into_layer()` so the wrapped app is the default | misses without a fallback get a plain 404 |
//! | mapping tuple `('www.example.com:80:/app', app, filter)` | `.route_with_filter("www.example.com:80:/app", svc, Filter::new(layer))` | specs are compiled once; a bad or duplicate spec is a build error naming it |
//! | `wfront.by_scheme(mapping, schemes={'http': (80, 8000)})` | [`by_scheme::by_scheme`](crate::by_scheme::by_scheme)`(Schemes::new().with("http", [80, 8000]), resolver, router)` | the label is actually used (WFront threw it away); listener labels and socket ports with [`by_scheme::by_scheme_with`](crate::by_scheme::by_scheme_with) |
//! | `host_resolver=`, `default_resolver` | [`resolve::DirectResolver`](crate::resolve::DirectResolver), or any `Fn(&Parts) -> Result<Resolved, Error>` | the path is canonical, without the query |
//! | `modproxy_resolver`, `proxied_host_is_accurate` | [`resolve::ForwardedResolver::try_new`](crate::resolve::ForwardedResolver::try_new)`(["10.0.0.0/8"])` | forwarding headers only from the listed proxies (WFront believed anyone sending `X-Forwarded-For`) |
//! | `SCRIPT_NAME` / `PATH_INFO` | the [`Mount`](crate::core::Mount) extension (an axum extractor too) | the matched prefix moves on segment boundaries |
//! | `wfront_match` environ key | [`Resolved`](crate::core::Resolved) (`Display` is `host:port:path`) and [`MatchedRoute`](crate::core::MatchedRoute) | |
//! | `REQUEST_URI` | [`OriginalUri`](crate::core::OriginalUri) | never a matching input |
//! | cleanup filter dicts, `cleanup_syntax='verbose'\|'shortcut'` | [`cleanup::Rules::parse`](crate::cleanup::Rules::parse)`(Syntax::Shortcut, text)` or [`cleanup::Rules::builder`](crate::cleanup::Rules::builder) | typed targets; values validated at build time |
//! | `EnvironRewriter(...).as_middleware_for(app)` | [`ServiceBuilderExt::cleanup`](crate::ServiceBuilderExt::cleanup)`(rules)` | |
//! | `MacroMap`, `{domain}` | `RouterBuilder::define("domain", "example.com")` | |
//! | `PathMap.add('/foo', app)` | `RouterBuilder::path("/foo", svc)` | |
//! | `dump_mappings()` | `Router::dump_mappings()` | |
//! | 0.4 quirks (globs crossing `:`, prefixes without boundaries) | [`core::Mode::Wfront04`](crate::core::Mode::Wfront04) on the router and the rules | for migrations only |
//! | `multiserver` (one app on several ports) | [`serve::Server::bind`](crate::serve::Server::bind)`(&[addr1, addr2])` | |
//!
//! # From proxylet (eventlet reverse proxy with relocation)
//!
//! | proxylet | frontdoor | note |
//! |---|---|---|
//! | `serve(host, port, mapper)` | [`serve::Server`](crate::serve::Server) serving a router | |
//! | a `mapper(req)` returning `(host, port, rewriter)` or `None` | [`upstream::Mapper`](crate::upstream::Mapper)`::builder(\|head\| ...)`: a function of the request head returning a [`Mapping`](crate::upstream::Mapping) or `None` (the fallback, 404); or, when the mappings are fixed, a [`route::Router`](crate::route::Router) with one route per mapping | the mapper reaches only its [`AllowedTargets`](crate::upstream::AllowedTargets) (empty: nothing); one pooled client per target authority, at most `max_clients` |
//! | `Relocator(local, remote)` | with a mapper, `Mapping::under(head, "/local", remote)` and [`RelocatedTargets`](crate::RelocatedTargets) (the remote root is the chosen URL); with a router, `ServiceBuilder::new().gateway_errors().relocate(RelocateLayer::new(Profile::Plain).remote_root(remote)).service(Upstream::new(remote)?)` on the route `::/local` | the local root comes from the resolver and the consumed prefix, or [`RelocateLayer::local_root`](crate::relocate::RelocateLayer::local_root) |
//! | `DAVRelocator`, `SVNRelocator`, `DrupalRelocator` | [`relocate::Profile`](crate::relocate::Profile)`::WebDav`, `::Svn`, `::Html` | XML and HTML bodies stream; segment boundaries; cookies, `Link`, `Refresh`, `If` too |
//! | `matchesLocal(uri)` | [`Mapping::under`](crate::upstream::Mapping::under)`(head, "/prefix", target)`, or the route spec `::/prefix` | segment boundaries (`/rfk` never takes `/rfkx`) |
//!
//! proxylet's `_demo_mapper`, with a mapper (the sites are the seed's; the
//! `examples/mapper.rs` example runs the same mapper against local sites):
//!
//! ```
//! use frontdoor::relocate::{Profile, RelocateLayer};
//! use frontdoor::upstream::{AllowedTargets, Mapper, Mapping};
//! use frontdoor::{resolve::DirectResolver, Body, RelocatedTargets, ServiceBuilderExt};
//! use http::{request::Parts, Request, Uri};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor::BoxError> {
//! let rfk: Uri = "http://www.rfk.id.au/".parse()?;
//! let goog: Uri = "http://www.google.com/".parse()?;
//! let svn: Uri = "http://sphericalmatrix.com/svn/morph".parse()?;
//! let svn_relocator = RelocateLayer::new(Profile::Svn);
//! let demo_mapper = move |req: &Parts| {
//!     Mapping::under(req, "/svn", svn.clone())
//!         .map(|m| m.with(svn_relocator.clone()))
//!         .or_else(|| Mapping::under(req, "/rfk", rfk.clone()))
//!         .or_else(|| Mapping::under(req, "/g", goog.clone()))
//! };
//! let mapper = Mapper::builder(demo_mapper)
//!     // proxylet would go anywhere; a mapper goes only where it is allowed.
//!     .allow(AllowedTargets::parse(["www.rfk.id.au", "www.google.com", "sphericalmatrix.com"])?)
//!     .wrap_targets(RelocatedTargets::new(RelocateLayer::new(Profile::Plain)))
//!     .build()?;
//! let app = ServiceBuilder::new()
//!     .resolve(DirectResolver::new())
//!     .gateway_errors()
//!     .service(mapper);
//! // proxylet.serve('', 8080, _demo_mapper):
//! // Server::from_listeners(vec![TcpListener::bind("0.0.0.0:8080").await?]).serve(app).await?;
//! let req = Request::get("/other").header("host", "localhost:8080").body(Body::empty())?;
//! assert_eq!(app.oneshot(req).await?.status(), 404); // the mapper returned None
//! # Ok(())
//! # }
//! ```
//!
//! In a [stack plan](crate::plan), the mapper ends a route: the route's upstream is
//! `service:NAME` and [`plan::Options::service`](crate::plan::Options::service)
//! registers the mapper under that name, so the route's layers (its `Served` tag,
//! gateway errors, `max_in_flight`, request buffer, mirror, compression) stay around
//! it. The relocation is the mapper's own, per chosen target
//! ([`RelocatedTargets`](crate::RelocatedTargets)): `relocate` on such a route is an
//! error.
//!
//! ```
//! use frontdoor::plan::{Description, Options, Plan};
//! use frontdoor::relocate::{Profile, RelocateLayer};
//! use frontdoor::upstream::{AllowedTargets, Mapper, Mapping};
//! use frontdoor::{Body, RelocatedTargets};
//! use http::{request::Parts, Request, Uri};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor::BoxError> {
//! let rfk: Uri = "http://www.rfk.id.au/".parse()?;
//! let mapper = Mapper::builder(move |req: &Parts| Mapping::under(req, "/rfk", rfk.clone()))
//!     .allow(AllowedTargets::parse(["www.rfk.id.au"])?)
//!     .wrap_targets(RelocatedTargets::new(RelocateLayer::new(Profile::Plain)))
//!     .build()?;
//! let description = Description::from_toml(
//!     r#"
//! [[route]]
//! name = "demo"
//! spec = "::/demo"             # the mapper sees /rfk/.. of /demo/rfk/..
//! upstream = "service:demo"
//! max_in_flight = 100
//! "#,
//! )?;
//! let plan = Plan::with_options(description.check()?, Options::new().service("demo", mapper))?;
//! assert_eq!(plan.rows()[0].upstream, "service:demo");
//! let req = Request::get("/demo/other").header("host", "localhost:8080").body(Body::empty())?;
//! assert_eq!(plan.service().oneshot(req).await?.status(), 404); // the mapper returned None
//! # Ok(())
//! # }
//! ```
//!
//! # From rouille's `proxy` and `full_proxy`
//!
//! | rouille | frontdoor | note |
//! |---|---|---|
//! | `proxy::proxy(request, ProxyConfig { addr, replace_host })` | [`upstream::Upstream`](crate::upstream::Upstream), a tower service; errors are [`upstream::ProxyError`](crate::upstream::ProxyError) | async, pooled, streaming both ways |
//! | `proxy::full_proxy(...)` (errors become responses) | `ServiceBuilder::new().gateway_errors().service(upstream)` | 502, 503 or 504 by error kind, with a hook |
//! | `replace_host: Some(host)` / `None` | `Upstream::builder(url).host(HostPolicy::Replace(value))` / `HostPolicy::Preserve`; the default is the upstream's own authority | |
//! | dispatch on `request.header("Host")` in a `match` | one route per host: `.route("domain1.com", upstream1).route("domain2.com", upstream2)` | hosts normalised; globs such as `*.example.com` |
//! | hop-by-hop headers forwarded, `X-Forwarded-*` appended from anyone | hop-by-hop stripped both ways; forwarding headers (`X-Forwarded-*`, `X-Real-IP`, the method overrides, ...) removed unless the peer is trusted; `X-Forwarded-For/-Proto/-Host` and `X-Real-IP` written by frontdoor | |
//!
//! # From nginx
//!
//! | nginx | frontdoor (library) | `frontdoor` binary |
//! |---|---|---|
//! | `location /app/ { proxy_pass http://backend/base/; }` | `.route("::/app", ServiceBuilder::new().gateway_errors().service(Upstream::new("http://backend/base")?))` | `spec = "::/app"`, `upstream = "http://backend/base"` |
//! | `location /app/ { proxy_pass http://backend; }` (no URI: the path goes as it came) | `.route_with_options("::/app", upstream, `[`RouteOptions`](crate::route::RouteOptions)`::new().prefix(Prefix::Keep))` | `spec = "::/app"`, `upstream = "http://backend"`, `strip_prefix = false` |
//! | `server_name www.example.com;` | a host in the spec: `www.example.com::/app` | the same |
//! | `listen 8443;` plus a `server` block per port | `Server::bind(&[..])`; port or label in the spec (`host:8443:/`) | `listen = [..]`; `spec = "h:8443:/"` |
//! | `upstream backend { server a; server b; }` | `upstream::Balanced` (power of two choices) | `upstream = ["http://a", "http://b"]` |
//! | `proxy_redirect http://backend/base/ /app/;` | `.relocate(RelocateLayer::new(Profile::Plain).remote_root("http://backend/base".parse()?))` | `relocate = "plain"` |
//! | `proxy_cookie_path`, `proxy_cookie_domain` | the same relocation (cookie `Path` and `Domain`) | `relocate = "plain"` |
//! | `sub_filter` on HTML links | `Profile::Html` | `relocate = "html"` |
//! | `proxy_set_header Host $host;` | `HostPolicy::Preserve` | `host = "preserve"` |
//! | `proxy_set_header X-Forwarded-For ...`, `set_real_ip_from` | `ForwardedResolver::try_new([..])` and the upstream's forwarding headers | `trusted_proxies = [..]` |
//! | `proxy_connect_timeout`, `proxy_read_timeout` | `Upstream::builder(..).connect_timeout(..).head_timeout(..).body_idle_timeout(..)` | `timeouts = { connect, response, idle }` |
//! | `mirror /shadow;` | [`ServiceBuilderExt::mirror`](crate::ServiceBuilderExt::mirror)`(frontdoor::mirror_to(url)?)` (never waits for the shadow) | `mirror = { upstream = .. }` |
//! | `nginx -s reload` | build a new stack and swap it | `kill -HUP`, or `--watch` |
//! | `nginx -t` | | `frontdoor check -c FILE` |
//!
//! A rouille-style host dispatch, as a frontdoor router (the upstreams replaced by the
//! echo backend so that it runs here):
//!
//! ```
//! use frontdoor::{demo, route::Router, Body};
//! use http::Request;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor::BoxError> {
//! let router = Router::builder()
//!     .route("domain1.com", demo::echo()) // Upstream::new("http://domain1.handler.localnetwork")?
//!     .route("domain2.com", demo::echo())
//!     .build()?; // anything else: 404, as rouille's `Response::empty_404()`
//! let req = |host: &str| Request::get("/").header("host", host).body(Body::empty()).unwrap();
//! assert_eq!(router.clone().oneshot(req("Domain1.com")).await?.status(), 200);
//! assert_eq!(router.oneshot(req("domain3.com")).await?.status(), 404);
//! # Ok(())
//! # }
//! ```
