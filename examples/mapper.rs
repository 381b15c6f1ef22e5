//! proxylet's demo mapper with frontdoor's [`Mapper`]: a function of the request
//! that says where to send it, or `None` for 404.
//!
//! proxylet's `_demo_mapper` put three sites behind one front door on port 8080, each
//! under its own path and relocated: `/rfk` a personal site, `/g` a search engine,
//! `/svn` a Subversion repository (with the Subversion relocator); anything else 404.
//! Here the three sites are local demo servers started on free loopback ports; each
//! names itself by the `Host` it is sent (its own address), as a real site does, so
//! their redirects and Subversion headers show the relocation coming back under the
//! public URL. The mapper may reach `127.0.0.1` only: a mapper is an open proxy
//! without its allow-list.
//!
//! Run `cargo run -p frontdoor-examples --example mapper`, then:
//!
//! ```text
//! curl -si http://127.0.0.1:8080/rfk/blog
//! curl -si 'http://127.0.0.1:8080/g/search?q=rust'
//! curl -si -X OPTIONS http://127.0.0.1:8080/svn/
//! curl -si http://127.0.0.1:8080/other
//! ```
#![allow(clippy::print_stdout, reason = "example output")]

use std::convert::Infallible;

use axum::{
    extract::RawQuery,
    http::{header, HeaderMap, StatusCode},
    response::IntoResponse,
    routing::{any, get},
    Router,
};
use frontdoor::relocate::{Profile, RelocateLayer};
use frontdoor::upstream::{AllowedTargets, Mapper, Mapping};
use frontdoor::{resolve::DirectResolver, serve::Server};
use frontdoor::{Body, BoxError, RelocatedTargets, ServiceBuilderExt};
use http::{request::Parts, Request, Response, Uri};
use tokio::net::TcpListener;
use tower::{Service, ServiceBuilder};

// === the three sites ===

/// The `Host` a site was sent: how it names itself.
fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned()
}

/// The personal site: `/blog` redirects to its own `http://HOST/blog/`.
fn personal_site() -> Router {
    async fn blog(headers: HeaderMap) -> impl IntoResponse {
        let location = format!("http://{}/blog/", host(&headers));
        (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, location)],
        )
    }
    Router::new()
        .route("/", get(|| async { "rfk's home\n" }))
        .route("/blog", get(blog))
        .route("/blog/", get(|| async { "rfk's blog\n" }))
}

/// The search engine: a search redirects to its own `http://HOST/results`.
fn search_engine() -> Router {
    async fn search(headers: HeaderMap, RawQuery(query): RawQuery) -> impl IntoResponse {
        let location = format!(
            "http://{}/results?{}",
            host(&headers),
            query.unwrap_or_default()
        );
        (StatusCode::FOUND, [(header::LOCATION, location)])
    }
    async fn results(RawQuery(query): RawQuery) -> String {
        format!("results for {}\n", query.unwrap_or_default())
    }
    Router::new()
        .route("/search", get(search))
        .route("/results", get(results))
}

/// The Subversion repository at `/svn/morph`: `OPTIONS` names its resources in
/// `SVN-*` headers, by path and absolute.
fn svn_repository() -> Router {
    async fn options(headers: HeaderMap) -> impl IntoResponse {
        let rev_stub = format!("http://{}/svn/morph/!svn/rev", host(&headers));
        (
            [
                ("svn-repository-root", "/svn/morph".to_owned()),
                ("svn-me-resource", "/svn/morph/!svn/me".to_owned()),
                ("svn-rev-stub", rev_stub),
            ],
            "",
        )
    }
    Router::new().route("/svn/morph/", any(options))
}

/// Where the three sites run: their base URLs.
#[derive(Clone, Debug)]
pub(crate) struct Sites {
    pub(crate) personal: Uri,
    pub(crate) search: Uri,
    pub(crate) svn: Uri,
}

/// Starts the three sites on free loopback ports.
pub(crate) async fn start_sites() -> Result<Sites, BoxError> {
    async fn spawn(app: Router, base: &str) -> Result<Uri, BoxError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}{base}", listener.local_addr()?).parse()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(url)
    }
    Ok(Sites {
        personal: spawn(personal_site(), "/").await?,
        search: spawn(search_engine(), "/").await?,
        svn: spawn(svn_repository(), "/svn/morph").await?,
    })
}

// === the mapper ===

/// proxylet's `_demo_mapper`: `/svn` (the Subversion relocation), `/rfk`, `/g`, in
/// that order; `None` for anything else.
pub(crate) fn demo_mapper(sites: Sites) -> impl Fn(&Parts) -> Option<Mapping> + Clone {
    let svn = RelocateLayer::new(Profile::Svn);
    move |req: &Parts| {
        Mapping::under(req, "/svn", sites.svn.clone())
            .map(|m| m.with(svn.clone()))
            .or_else(|| Mapping::under(req, "/rfk", sites.personal.clone()))
            .or_else(|| Mapping::under(req, "/g", sites.search.clone()))
    }
}

/// The front door: the resolver (the public origin the relocation maps back to),
/// gateway errors (502/503/504), and the mapper, its targets relocated (plain unless
/// the mapping says otherwise), allowed on loopback only.
pub(crate) fn app(
    sites: Sites,
) -> Result<
    impl Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send>
        + Clone
        + Send
        + 'static,
    BoxError,
> {
    let mapper = Mapper::builder(demo_mapper(sites))
        .allow(AllowedTargets::parse(["127.0.0.1"])?)
        .wrap_targets(RelocatedTargets::new(RelocateLayer::new(Profile::Plain)))
        .build()?;
    Ok(ServiceBuilder::new()
        .resolve(DirectResolver::new())
        .gateway_errors()
        .service(mapper))
}

/// Serves the mapper on `listener`, the sites at `sites`.
pub(crate) async fn run(listener: TcpListener, sites: Sites) -> Result<(), BoxError> {
    Server::from_listeners(vec![listener])
        .serve_with_shutdown(app(sites)?, frontdoor::serve::shutdown_signal())
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sites = start_sites().await?;
    let listener = TcpListener::bind("127.0.0.1:8080").await?;
    println!(
        "proxylet's demo mapper on http://{}",
        listener.local_addr()?
    );
    println!(
        "  /rfk -> {}\n  /g -> {}\n  /svn -> {}",
        sites.personal, sites.search, sites.svn
    );
    run(listener, sites).await
}
