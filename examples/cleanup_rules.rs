//! The cleanup rules alone: declarative request rewrites (WFront's built-in cleanup
//! filter) in front of an app, here the echo backend, which answers with the request
//! it received.
//!
//! The same rules are written twice: with the typed builder, and in WFront's shortcut
//! syntax, as a migrated config would have them. Both build the same set.
//!
//! Run `cargo run -p frontdoor-examples --example cleanup_rules`, then:
//!
//! ```text
//! curl -s -H 'Cookie: secret=1' -H 'X-App: 1.0' 'http://127.0.0.1:3000/legacy/page?q=1'
//! ```
#![allow(clippy::print_stdout, reason = "example output")]

use frontdoor::cleanup::{CleanupError, Rules, Syntax, Target};
use frontdoor::{demo, serve::Server, BoxError, ServiceBuilderExt};
use http::{header, HeaderName};
use tokio::net::TcpListener;
use tower::ServiceBuilder;

/// The rules, typed.
pub(crate) fn rules() -> Result<Rules, CleanupError> {
    Rules::builder()
        .strip_path("/legacy") // /legacy/page -> /page, on segment boundaries
        .remove(header::COOKIE) // the app never sees cookies
        .template(HeaderName::from_static("x-app"), "frontdoor/%s") // wraps the client's value
        .set_default(HeaderName::from_static("x-source"), "public") // unless the client said
        .set(Target::var("mode"), "wap") // a free variable for the app
        .build()
}

/// The same rules in WFront's shortcut syntax.
pub(crate) const SHORTCUT: &str = "\
-/: /legacy
HTTP_COOKIE: None
%HTTP_X_APP: frontdoor/%s
||=HTTP_X_SOURCE: public
mode: wap";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    assert_eq!(rules()?, Rules::parse(Syntax::Shortcut, SHORTCUT)?);
    let listener = TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    run(listener).await
}

/// Serves the echo backend behind the rules on `listener`.
pub(crate) async fn run(listener: TcpListener) -> Result<(), BoxError> {
    let app = ServiceBuilder::new()
        .cleanup(rules()?)
        .service(demo::echo());
    Server::from_listeners(vec![listener])
        .serve_with_shutdown(app, frontdoor::serve::shutdown_signal())
        .await?;
    Ok(())
}
