//! The README's front door: resolve, route with a cleanup filter, upstream.
//!
//! Run `cargo run -p frontdoor-examples --example echo_server` in one terminal (the
//! upstream on 127.0.0.1:3000), then `cargo run -p frontdoor-examples --example
//! front_door` and `curl -s -H 'Host: www.example.com' http://127.0.0.1:8080/app/x`.

use frontdoor::{
    cleanup::{Rules, Syntax},
    resolve::ForwardedResolver,
    route::Router,
};
use frontdoor::{serve::Server, upstream::Upstream, BoxError, ServiceBuilderExt};
use tower::{util::BoxCloneSyncService, ServiceBuilder};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // One upstream per route; gateway errors become 502/503/504 answers.
    let app = BoxCloneSyncService::new(
        ServiceBuilder::new()
            .gateway_errors()
            .cleanup(Rules::parse(Syntax::Shortcut, "HTTP_X_FRONTDOOR: yes")?)
            .service(Upstream::new("http://127.0.0.1:3000/app")?),
    );
    let routes = Router::builder()
        .route("www.example.com::/app", app) // host:port:path, first match wins
        .into_layer()?; // the inner service is the fallback
    let svc = ServiceBuilder::new()
        .resolve(ForwardedResolver::try_new(["10.0.0.0/8"])?) // trust only these proxies
        .routes(routes)
        .service(BoxCloneSyncService::new(frontdoor::demo::echo()));
    Server::bind(&["127.0.0.1:8080".parse()?])
        .await?
        .serve_with_shutdown(svc, frontdoor::serve::shutdown_signal())
        .await?;
    Ok(())
}
