//! Local-root <-> remote-root relocation of requests and responses: what nginx's
//! `proxy_redirect` and `proxy_cookie_*` do, plus the WebDAV `Destination`, `If`
//! and multistatus hrefs, Subversion's headers and report elements, and HTML links
//! that a relocated mount needs.
//!
//! An upstream served under another public path (public `/dav/` is upstream
//! `http://origin/webdav/`) names its resources with its own URLs: in `Location`,
//! cookies, WebDAV bodies, Subversion's `OPTIONS` headers. Clients send public URLs
//! back in `Destination`, `If` and request bodies. This crate moves each of them
//! across, with one mapping ([`Relocation`]) that matches and rewrites in the same
//! step, on segment boundaries, and never touches a URL on another host or outside
//! the root.
//!
//! * [`Relocation`], [`Root`], [`Origin`]: the pure mapping.
//! * [`RelocateLayer`] / [`Relocate`]: the tower middleware, by [`Profile`]
//!   (`none`, `plain`, `webdav`, `svn`, `html`). See the [`layer`] module for what
//!   is rewritten when, and how bodies stream.
//! * [`Coding`], [`RelocateEvent`]: a compressed body (gzip, deflate, br, zstd) is
//!   decoded for its rewrite and compressed again as the client accepts; a body
//!   passed on unrewritten, or cut off past the decoded-size cap, is reported to the
//!   layer's [`on_event`](RelocateLayer::on_event) hook.
//!
//! # Example
//!
//! ```
//! use frontdoor_core::Body;
//! use frontdoor_relocate::{Profile, RelocateLayer};
//! use http::{Request, Response};
//! use http_body_util::BodyExt;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor_core::BoxError> {
//! let multistatus = r#"<D:multistatus xmlns:D="DAV:"><D:response><D:href>/webdav/a.txt</D:href></D:response></D:multistatus>"#;
//! let upstream = service_fn(move |_req: Request<Body>| async move {
//!     Response::builder()
//!         .status(207)
//!         .header("content-type", "application/xml; charset=utf-8")
//!         .header("set-cookie", "sid=1; Path=/webdav; HttpOnly")
//!         .body(Body::from(multistatus))
//! });
//! let svc = ServiceBuilder::new()
//!     .layer(
//!         RelocateLayer::new("webdav".parse::<Profile>()?)
//!             .remote_root("http://origin/webdav".parse()?)
//!             .local_root("http://public/dav".parse()?),
//!     )
//!     .service(upstream);
//!
//! let req = Request::builder().method("PROPFIND").uri("/").body(Body::empty())?;
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.headers()["set-cookie"], "sid=1; Path=/dav; HttpOnly");
//! let body = res.into_body().collect().await?.to_bytes();
//! assert!(std::str::from_utf8(&body)?.contains("<D:href>/dav/a.txt</D:href>"));
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! This crate has no optional features.
//!
//! # Differences from proxylet's relocators (spec part 2)
//!
//! Matching and rewriting are one function with segment boundaries; a root remote
//! never produces `//`; hosts compare case-insensitively and default ports equal
//! absent ones; `Content-Location`, `Refresh` (and `<meta http-equiv="refresh">` in
//! HTML), `Link`, `Set-Cookie` and `If` are relocated too; the XML rewriter is
//! namespace-aware, streaming, and keeps the document byte for byte outside the URLs
//! it moves; only bodies that are rewritten are buffered, up to a cap; duplicate
//! `Location` headers are a 502, not a crash.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod coding;
mod event;
mod headers;
mod html;
pub mod layer;
mod profile;
mod relocation;
mod root;
mod url;
mod xml;

pub use body::error::{RewriteError, RewriteErrorKind};
pub use coding::Coding;
pub use event::{OnRelocateEvent, RelocateEvent, SkipReason};
pub use layer::{OverLimit, Relocate, RelocateLayer, ResponseFuture, DEFAULT_MAX_DECODED_BODY};
pub use profile::{ParseProfileError, Profile};
pub use relocation::Relocation;
pub use root::{Origin, ParseRootError, Root};
