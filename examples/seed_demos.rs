//! The demos of the projects frontdoor grew from, done with frontdoor and run end to
//! end: proxylet's demo mapper, and WFront's Pound and Apache mod_proxy recipes.
//!
//! **proxylet's `_demo_mapper`** put three sites behind one front door, each under its
//! own path and relocated: `/rfk` a personal site (`http://www.rfk.id.au/`), `/g` a
//! search engine (`http://www.google.com/`), `/svn` a Subversion repository
//! (`http://sphericalmatrix.com/svn/morph`); anything else 404. Here the three
//! upstreams are local demo servers that name themselves as the real sites did, so
//! their redirects and Subversion headers show the relocation.
//!
//! **WFront's recipes**, in WFront's own rule syntax: the Pound recipes (a default
//! `Host`, a `Host` from `X-Fallback-Host`, the scheme from `X-Scheme`) and the Apache
//! mod_proxy recipe (`/-https/...` and `/-http/...` marker prefixes that set the
//! scheme and are stripped). The app behind them answers with what it saw, one
//! `KEY<TAB>value` line each, as WFront's `echo_app`.
//!
//! Run `cargo run -p frontdoor-examples --example seed_demos`, then:
//!
//! ```text
//! curl -si http://127.0.0.1:3000/rfk/blog
//! curl -si 'http://127.0.0.1:3000/g/search?q=rust'
//! curl -si -X OPTIONS http://127.0.0.1:3000/svn/
//! curl -s -H 'Host: host1.domain' http://127.0.0.1:3001/-https/x
//! curl -s -H 'X-Scheme: https' http://127.0.0.1:3001/pound/scheme/x
//! ```
#![allow(clippy::print_stdout, reason = "example output")]

use std::convert::Infallible;

use axum::{
    extract::RawQuery,
    http::{header, StatusCode},
    response::IntoResponse,
    routing::{any, get},
    Router,
};
use frontdoor::cleanup::{CleanupLayer, Rules, Syntax};
use frontdoor::relocate::{Profile, Relocate, RelocateLayer};
use frontdoor::route::{self, Filter};
use frontdoor::upstream::{GatewayError, Upstream};
use frontdoor::{core::Mount, core::Resolved, resolve::DirectResolver, serve::Server};
use frontdoor::{Body, BoxError, ServiceBuilderExt};
use http::Request;
use tokio::net::TcpListener;
use tower::ServiceBuilder;

// === proxylet's demo mapper ===

/// The personal site: it links and redirects to `http://www.rfk.id.au/...`.
fn personal_site() -> Router {
    async fn blog() -> impl IntoResponse {
        (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, "http://www.rfk.id.au/blog/")],
        )
    }
    Router::new()
        .route("/", get(|| async { "rfk's home\n" }))
        .route("/blog", get(blog))
        .route("/blog/", get(|| async { "rfk's blog\n" }))
}

/// The search engine: a search redirects to `http://www.google.com/results`.
fn search_engine() -> Router {
    async fn search(RawQuery(query): RawQuery) -> impl IntoResponse {
        let location = format!(
            "http://www.google.com/results?{}",
            query.unwrap_or_default()
        );
        (StatusCode::FOUND, [(header::LOCATION, location)])
    }
    Router::new()
        .route("/search", get(search))
        .route("/results", get(|RawQuery(q): RawQuery| async move { format!("results for {}\n", q.unwrap_or_default()) }))
}

/// The Subversion repository at `/svn/morph`: `OPTIONS` names its resources in
/// `SVN-*` headers, absolute or by path.
fn svn_repository() -> Router {
    async fn options() -> impl IntoResponse {
        (
            [
                ("svn-repository-root", "/svn/morph"),
                ("svn-me-resource", "/svn/morph/!svn/me"),
                (
                    "svn-rev-stub",
                    "http://sphericalmatrix.com/svn/morph/!svn/rev",
                ),
            ],
            "",
        )
    }
    Router::new().route("/svn/morph/", any(options))
}

/// One mapping of the mapper: `upstream`, known to itself as `remote`, relocated by
/// `profile`, its failures answered with 502/503/504.
fn relocated(
    profile: Profile,
    remote: &str,
    upstream: &str,
) -> Result<GatewayError<Relocate<Upstream>>, BoxError> {
    Ok(ServiceBuilder::new()
        .gateway_errors()
        .relocate(RelocateLayer::new(profile).remote_root(remote.parse()?))
        .service(Upstream::new(upstream)?))
}

/// Where the mapper's three sites run (base URLs).
#[derive(Clone, Debug)]
pub(crate) struct Sites {
    pub(crate) personal: String,
    pub(crate) search: String,
    pub(crate) svn: String,
}

/// proxylet's `_demo_mapper` as a router: first match wins, misses are 404.
pub(crate) fn mapper(sites: &Sites) -> Result<route::Router, BoxError> {
    let svn = format!("{}/svn/morph", sites.svn);
    Ok(route::Router::builder()
        .route(
            "::/svn",
            relocated(Profile::Svn, "http://sphericalmatrix.com/svn/morph", &svn)?,
        )
        .route(
            "::/rfk",
            relocated(Profile::Plain, "http://www.rfk.id.au/", &sites.personal)?,
        )
        .route(
            "::/g",
            relocated(Profile::Plain, "http://www.google.com/", &sites.search)?,
        )
        .build()?)
}

/// Starts the three sites on free loopback ports.
pub(crate) async fn start_sites() -> Result<Sites, BoxError> {
    async fn spawn(app: Router) -> Result<String, BoxError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(url)
    }
    Ok(Sites {
        personal: spawn(personal_site()).await?,
        search: spawn(search_engine()).await?,
        svn: spawn(svn_repository()).await?,
    })
}

// === WFront's recipes ===

/// Pound recipe 1: a default `Host` for requests without one.
const POUND_DEFAULT_HOST: &str = "wfront.setdefault.HTTP_HOST: host1.domain";
/// Pound recipe 2: `Host` from `X-Fallback-Host` when the request has none.
const POUND_FALLBACK_HOST: &str = "wfront.setdefault.HTTP_HOST: %(HTTP_X_FALLBACK_HOST)s";
/// Pound recipe 3: the scheme from `X-Scheme` (which any client may send: trust it
/// only behind a proxy that sets it).
const POUND_SCHEME: &str = "wfront.sprintf.wsgi.url_scheme: %(HTTP_X_SCHEME)s";
/// The Apache mod_proxy recipe, route `::/-https`: the marker means https.
const MOD_PROXY_HTTPS: &str = "\
wsgi.url_scheme: https
HTTPS: ON
HTTP_X_FORWARDED_PORT: 443
wfront.setdefault.HTTP_HOST: %(X_FORWARDED_FOR_SERVER)s
wfront.strip_path: /-https";
/// The Apache mod_proxy recipe, route `::/-http`.
const MOD_PROXY_HTTP: &str = "wfront.strip_path: /-http";

/// WFront's `echo_app`: what the app saw, one `KEY<TAB>value` line each.
async fn echo_app(req: Request<Body>) -> Result<http::Response<Body>, Infallible> {
    let mount = Mount::of(&req);
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned()
    };
    let scheme = req
        .extensions()
        .get::<Resolved>()
        .map_or_else(|| "-".to_owned(), |r| r.scheme.to_string());
    let lines = format!(
        "HTTP_HOST\t{}\nHTTP_X_FORWARDED_PORT\t{}\nPATH_INFO\t{}\nSCRIPT_NAME\t{}\nwsgi.url_scheme\t{scheme}\n",
        header("host"),
        header("x-forwarded-port"),
        mount.path_info(),
        mount.script_name(),
    );
    Ok(http::Response::new(Body::from(lines)))
}

/// A route filter from rules in WFront's verbose syntax.
fn recipe(text: &str) -> Result<Filter, BoxError> {
    Ok(Filter::new(CleanupLayer::new(Rules::parse(
        Syntax::Verbose,
        text,
    )?)))
}

/// The recipes in one front door: `/-https` and `/-http` (mod_proxy), `/pound/host`,
/// `/pound/fallback`, `/pound/scheme` (Pound), each routed to `echo_app` through its
/// rules; the rest straight to `echo_app`.
pub(crate) fn recipes() -> Result<route::Router, BoxError> {
    let app = tower::service_fn(echo_app);
    Ok(route::Router::builder()
        .route_with_filter("::/-https", app, recipe(MOD_PROXY_HTTPS)?)
        .route_with_filter("::/-http", app, recipe(MOD_PROXY_HTTP)?)
        .route_with_filter("::/pound/host", app, recipe(POUND_DEFAULT_HOST)?)
        .route_with_filter("::/pound/fallback", app, recipe(POUND_FALLBACK_HOST)?)
        .route_with_filter("::/pound/scheme", app, recipe(POUND_SCHEME)?)
        .fallback(app)
        .build()?)
}

// === serving ===

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sites = start_sites().await?;
    let demo = TcpListener::bind("127.0.0.1:3000").await?;
    let wfront = TcpListener::bind("127.0.0.1:3001").await?;
    println!("proxylet's demo mapper on http://{}", demo.local_addr()?);
    println!("WFront's recipes on http://{}", wfront.local_addr()?);
    tokio::try_join!(run_mapper(demo, &sites), run_recipes(wfront))?;
    Ok(())
}

/// Serves the mapper on `listener`.
pub(crate) async fn run_mapper(listener: TcpListener, sites: &Sites) -> Result<(), BoxError> {
    let app = ServiceBuilder::new()
        .resolve(DirectResolver::new())
        .service(mapper(sites)?);
    serve(listener, app).await
}

/// Serves the recipes on `listener`. Requests without `Host` (HTTP/1.0) resolve to
/// `localhost`, as a WSGI server's `SERVER_NAME`.
pub(crate) async fn run_recipes(listener: TcpListener) -> Result<(), BoxError> {
    let app = ServiceBuilder::new()
        .resolve(DirectResolver::new().try_server_name("localhost")?)
        .service(recipes()?);
    serve(listener, app).await
}

async fn serve<S>(listener: TcpListener, app: S) -> Result<(), BoxError>
where
    S: tower::Service<Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    Server::from_listeners(vec![listener])
        .serve_with_shutdown(app, frontdoor::serve::shutdown_signal())
        .await?;
    Ok(())
}
