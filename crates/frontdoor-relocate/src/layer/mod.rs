//! Middleware that relocates requests from the public root to the upstream's and
//! responses back: headers, and (by profile) WebDAV/Subversion XML and HTML bodies.
//!
//! The layer sits in front of the upstream client, behind the router. The request
//! URI it receives is the path info (the router consumed the public prefix) and the
//! upstream joins it to its base path, so the request target itself needs no rewrite;
//! URLs in headers and bodies do. Per request:
//!
//! * the **local root** is [`RelocateLayer::local_root`], or the resolver's public
//!   origin ([`Resolved`](frontdoor_core::Resolved)) plus the router's script name
//!   ([`Mount`](frontdoor_core::Mount)), never the request's own `Host`;
//! * the **remote root** is [`RelocateLayer::remote_root`], the upstream's base URL;
//! * every URL goes through the one [`Relocation`](crate::Relocation) mapping, so
//!   nothing outside the roots (another host, `//evil`, `/webdavx`) is ever touched.
//!
//! Bodies are rewritten only for the allowlisted methods (DAV profiles) and content
//! types (`text/xml`, `application/xml`, `*+xml`; `text/html` for the HTML profile).
//! The first [`buffer_limit`](RelocateLayer::buffer_limit) bytes are read before the
//! headers go out: a body that fits gets an exact `Content-Length`; a longer one
//! streams without one ([`OverLimit`]). Other bodies pass frame by frame, untouched.
//!
//! Content codings: the client's `Accept-Encoding` goes to the upstream as it is. A
//! body to be rewritten in `gzip`, `deflate`, `br` or `zstd` is decoded a step at a
//! time, rewritten as it streams, and encoded again: a response in the same coding
//! when the client's `Accept-Encoding` accepts it (q > 0; no header means identity),
//! else as identity; a request body in its own coding. Such a body always streams
//! (no `Content-Length`); a response's `Content-Encoding` says what is sent, a
//! strong `ETag` becomes weak, `Accept-Ranges` goes and `Vary: Accept-Encoding` is
//! added. A body that
//! decodes to more than [`max_decoded_body`](RelocateLayer::max_decoded_body) is cut
//! off. A response in any other coding, or in two stacked ones, passes unrewritten;
//! a request body to be rewritten in one is answered 415. Both are reported to the
//! [`on_event`](RelocateLayer::on_event) hook.
//!
//! Failures: two `Location` headers or an unparseable URL in a rewritten response
//! header is answered with 502 (and a log line); so is a response body that fitted
//! the buffer but is not well-formed. A longer one is cut off with an error (the
//! client sees a truncated message, never a silently half-rewritten document).
//! A request `Destination` outside the local root is answered 502 (RFC 4918 section
//! 9.8.5) and never forwarded; a malformed one, 400.
//!
//! # Example
//!
//! ```
//! use frontdoor_core::{Body, Mount, Resolved};
//! use frontdoor_relocate::{Profile, RelocateLayer};
//! use http::{Request, Response};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor_core::BoxError> {
//! // The upstream answers with its own URL for the new resource.
//! let upstream = service_fn(|req: Request<Body>| async move {
//!     // The Destination now names the upstream's resource.
//!     assert_eq!(req.headers()["destination"], "http://origin/webdav/b.txt");
//!     let res = Response::builder()
//!         .status(201)
//!         .header("location", "http://origin/webdav/b.txt")
//!         .body(Body::empty())?;
//!     Ok::<_, http::Error>(res)
//! });
//! let svc = ServiceBuilder::new()
//!     .layer(RelocateLayer::new(Profile::WebDav).remote_root("http://origin/webdav".parse()?))
//!     .service(upstream);
//!
//! // What the resolver and the router stamp on a request for /dav/a.txt.
//! let mut req = Request::builder()
//!     .method("MOVE")
//!     .uri("/a.txt")
//!     .header("destination", "http://public:8080/dav/b.txt")
//!     .body(Body::empty())?;
//! req.extensions_mut().insert("public:8080:/dav/a.txt".parse::<Resolved>()?);
//! req.extensions_mut().insert(Mount::new("/dav", "/a.txt"));
//!
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.headers()["location"], "http://public:8080/dav/b.txt");
//! # Ok(())
//! # }
//! ```

mod builder;
mod future;
mod plan;
mod service;

pub use self::{
    builder::{OverLimit, RelocateLayer, DEFAULT_MAX_DECODED_BODY},
    future::ResponseFuture,
    service::Relocate,
};

#[cfg(test)]
mod tests;
