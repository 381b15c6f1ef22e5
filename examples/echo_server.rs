//! The echo backend on two ports, served with graceful shutdown on Ctrl-C.
//!
//! Run: `cargo run -p frontdoor-examples --example echo_server`, then
//! `curl -s http://127.0.0.1:3000/hello` or `curl -s --http2-prior-knowledge http://127.0.0.1:3001/`.
#![allow(clippy::print_stdout, reason = "example output")]

use frontdoor::{demo, serve::Server, BoxError};
use tower::ServiceBuilder;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt().init();
    let server = Server::bind(&["127.0.0.1:3000".parse()?, "127.0.0.1:3001".parse()?]).await?;
    for addr in server.local_addrs()? {
        println!("echo listening on http://{addr}");
    }
    let svc = ServiceBuilder::new().service(demo::echo());
    server
        .serve_with_shutdown(svc, frontdoor::serve::shutdown_signal())
        .await?;
    Ok(())
}
