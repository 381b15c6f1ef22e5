//! The README's front door: resolve, route with a cleanup filter, upstream.
//!
//! Run `cargo run -p frontdoor-examples --example echo_server` in one terminal (the
//! upstream on 127.0.0.1:3000), then `cargo run -p frontdoor-examples --example
//! front_door` and `curl -s -H 'Host: www.example.com' http://127.0.0.1:8080/app/x`.

use frontdoor::{cleanup::Rules, resolve::ForwardedResolver, route::Router};
use frontdoor::{serve::Server, upstream::Upstream, BoxError, ServiceBuilderExt};
use http::HeaderName;
use tower::ServiceBuilder;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // One upstream per route; gateway errors become 502/503/504 answers.
    let app = ServiceBuilder::new()
        .gateway_errors()
        .cleanup(
            Rules::builder()
                .set(HeaderName::from_static("x-frontdoor"), "yes")
                .build()?,
        )
        .service(Upstream::new("http://127.0.0.1:3000/app")?);
    let routes = Router::builder()
        .route("www.example.com::/app", app) // host:port:path, first match wins
        .into_layer()?; // the inner service is the fallback
    let svc = ServiceBuilder::new()
        .resolve(ForwardedResolver::try_new(["10.0.0.0/8"])?) // trust only these proxies
        .routes(routes)
        .service(frontdoor::demo::echo());
    Server::bind(&["127.0.0.1:8080".parse()?])
        .await?
        .serve_with_shutdown(svc, frontdoor::serve::shutdown_signal())
        .await?;
    Ok(())
}
