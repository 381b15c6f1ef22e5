//! Traffic shadowing: send a copy of selected requests to a shadow upstream while
//! the primary answers the client, and compare the two answers.
//!
//! [`MirrorLayer`] wraps the primary (usually the route's upstream, so the shadow
//! receives the request exactly as the upstream does: prefix consumed, cleanup and
//! relocation applied). For each request it:
//!
//! 1. **selects**: method in the set (`GET`, `HEAD` by default; deliberately not
//!    `OPTIONS`; upgrade requests never), sampling fraction, a predicate hook, an
//!    announced body no larger
//!    than the tee cap, and a free slot under the in-flight bound: a saturated shadow
//!    means *skip and count*, never queue;
//! 2. **tees** the request body as it streams to the primary, up to the cap (over it,
//!    that request is simply not mirrored; the primary is never buffered or delayed);
//! 3. **sends the copy** to the shadow service on a detached task, under its own
//!    timeout, after the safety edits: `Authorization`, `Cookie`,
//!    `Proxy-Authorization`, `X-Api-Key`, `X-Auth-Token`, `X-CSRF-Token` and
//!    `X-Amz-Security-Token` always stripped, and any headers named with
//!    [`MirrorLayer::strip_headers`], hop-by-hop headers removed, `Host` marked
//!    (`www.example.com-shadow` by default, see [`HostMark`]), the target in origin
//!    form;
//! 4. **reports** to hooks keyed by one [`MirrorId`], named after GoReplay's events:
//!    `on_request` (may edit or skip the copy), `on_response` (the primary's head,
//!    and body up to a cap when capture is on), `on_replay` (the shadow's), and
//!    `on_exchange`, called once with both sides in whichever order they finish, or
//!    with a side [`Side::Missing`] after the exchange time-to-live;
//! 5. **compares** with the [`compare`] module's comparators (status, selected
//!    headers, body bytes, JSON-equal bodies; a body in gzip, deflate, br or zstd is
//!    decoded first, to at most the capture cap) and counts into [`MirrorStats`]:
//!    mirrored, skipped by [`SkipReason`], failed by [`ShadowErrorKind`], differing by
//!    [`DiffKind`].
//!
//! The client always gets the primary's answer, unchanged. A shadow that hangs,
//! refuses connections, errors or panics costs the primary nothing but the tee's
//! `Bytes` clones. Hooks run on the detached task, never on the request path.
//!
//! # The shadow service
//!
//! The mirror has no HTTP client of its own: [`MirrorLayer::new`] takes the shadow as
//! a tower service. To mirror to a URL, inject a `frontdoor_upstream::Upstream`,
//! which joins the request path under its base path, speaks HTTP/1.1, HTTP/2 or TLS,
//! writes the forwarding headers and applies its `HostPolicy`: build it with
//! `HostPolicy::Preserve`, or the [`HostMark`] never reaches the shadow. The facade
//! does all this in one line, `frontdoor::mirror_to("http://shadow:8080/base")?`,
//! and classifies the upstream's failures (timeout, connect, I/O) for
//! [`MirrorStats`].
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use frontdoor_core::{Body, BoxError};
//! use frontdoor_mirror::{MirrorLayer, TeeBody};
//! use http::{Request, Response, StatusCode};
//! use tokio::sync::mpsc;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! // The shadow (a candidate release) answers 500; any tower service will do, or
//! // `frontdoor::mirror_to("http://127.0.0.1:8081")?` for an upstream at that URL.
//! let shadow = service_fn(|_req: Request<Body>| async {
//!     Ok::<_, Infallible>(Response::builder().status(500).body(Body::empty()).unwrap())
//! });
//! let (tx, mut exchanges) = mpsc::unbounded_channel();
//! let layer = MirrorLayer::new(shadow)
//!     .sample(1.0)?
//!     .on_exchange(move |ex| drop(tx.send(ex.clone())));
//! let stats = layer.stats_handle();
//! let primary = service_fn(|_req: Request<TeeBody<Body>>| async {
//!     Ok::<_, Infallible>(Response::new(Body::from("ok")))
//! });
//! let svc = ServiceBuilder::new().layer(layer).service(primary);
//!
//! let req = Request::get("/a").header("authorization", "Bearer t").body(Body::empty())?;
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::OK); // the client gets the primary's answer
//!
//! let ex = exchanges.recv().await.unwrap(); // once both sides are in
//! assert_eq!(ex.diffs[0].to_string(), "replay status 500 differs from response status 200");
//! assert!(ex.request.headers().get("authorization").is_none()); // credentials stripped
//! assert_eq!(stats.snapshot().differing(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Differences from nginx's `mirror`
//!
//! nginx's `mirror` waits for the mirror subrequest before it takes the next request
//! on the connection, and sends every request; this layer never waits for the
//! shadow, bounds it, samples, strips credentials, marks `Host`, and compares.
//!
//! # Feature flags
//!
//! This crate has no optional features.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
pub mod compare;
mod error;
mod exchange;
mod future;
mod hooks;
mod id;
mod layer;
mod service;
mod shadow;
mod stats;
mod task;

pub use body::{CaptureBody, TeeBody};
pub use compare::{CapturedResponse, Comparator, Diff, DiffKind};
pub use error::{MirrorConfigError, PrimaryError, ShadowError, ShadowErrorKind};
pub use exchange::{Exchange, ShadowRequest, Side};
pub use future::ResponseFuture;
pub use hooks::{Decision, MirrorHooks};
pub use id::{MirrorId, ParseMirrorIdError};
pub use layer::{
    MirrorLayer, DEFAULT_CAPTURE_BODY, DEFAULT_EXCHANGE_TTL, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MAX_REQUEST_BODY, DEFAULT_TIMEOUT,
};
pub use service::Mirror;
pub use shadow::HostMark;
pub use stats::{MirrorStats, SkipReason, StatsSnapshot};
