//! The terminal upstream-client service of frontdoor: pooled, streaming, with typed
//! errors and gateway responses.
//!
//! [`Upstream`] forwards a request to one configured upstream base URI over pooled
//! keep-alive connections (no forced `Connection: close`): for plain `http`, a direct
//! HTTP/1.1 client that runs in the task awaiting the answer; for `https` and h2c,
//! hyper-util's pooled client. It strips
//! hop-by-hop headers in both directions, writes forwarding headers according to the
//! resolver's trust decision, applies a [`HostPolicy`], streams both bodies without
//! collecting them, and splices `Connection: upgrade` requests to the protocols it
//! allows ([`UpgradeProtocols`]: WebSocket by default, never h2c) after a matching
//! `101`. Its error is a typed [`ProxyError`]. [`GatewayErrorLayer`] (the
//! successor of rouille's `full_proxy`) answers those errors with 502/503/504.
//!
//! [`Balanced`] spreads requests over several addresses of one route with tower's
//! power-of-two-choices balancer, ejects addresses after consecutive connect failures,
//! and retries idempotent, body-less requests whose connect failed.
//!
//! [`Mapper`] (proxylet's mapper) picks the target per request with a function of the
//! request head, keeps a bounded set of pooled clients, one per target authority, and
//! reaches only the networks and hosts of its [`AllowedTargets`].
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use frontdoor_core::Body;
//! use frontdoor_upstream::{GatewayErrorLayer, Upstream};
//! use http::Request;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor_core::BoxError> {
//! // Nothing listens on port 9 (discard) of loopback here: the connect is refused.
//! let proxy = ServiceBuilder::new()
//!     .layer(GatewayErrorLayer::new())
//!     .service(Upstream::new("http://127.0.0.1:9/base")?);
//! let res = proxy
//!     .oneshot(Request::get("/x").body(Body::empty())?)
//!     .await
//!     .unwrap_or_else(|e: Infallible| match e {});
//! assert_eq!(res.status(), 502);
//! # Ok(())
//! # }
//! ```
//!
//! More: `tests/` has loopback examples of every behaviour (upgrades, h2c, balancing,
//! 100 MiB streaming).
//!
//! # Feature flags
//!
//! | feature | what | default |
//! |---|---|---|
//! | `tls` | `https://` upstreams with rustls (`ring` provider, webpki roots or your own `ClientConfig`, ALPN `h2`/`http/1.1`, SNI override, verification on unless explicitly off) | off |
//!
//! # Differences from rouille's `proxy`
//!
//! Header names are compared case-insensitively; every hop-by-hop header goes, in both
//! directions; framing is hyper's (no double chunking, HEAD/1xx/204/304 correct);
//! connections are pooled; `Host` is added when missing; connect errors are 502, only
//! timeouts are 504; the reason phrase is not carried (the `http` crate has none).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod allow;
pub mod balance;
pub mod buffer;
mod error;
pub mod forwarded;
pub mod gateway;
pub mod hop_by_hop;
pub mod mapper;
#[cfg(feature = "tls")]
mod tls;
pub mod upstream;

pub use allow::AllowedTargets;
pub use balance::{BalanceHealth, Balanced, BalancedBuilder, Member, MemberFactory};
pub use buffer::{BufferBudget, RequestBufferLayer};
pub use error::{ProxyError, ProxyErrorKind, UpstreamConfigError};
pub use forwarded::Forwarding;
pub use gateway::{
    error_kind_of, gateway_response, DefaultOnGatewayError, GatewayError, GatewayErrorLayer,
    GatewayFailure, OnGatewayError, ResponseFuture as GatewayResponseFuture,
};
pub use mapper::{
    Direct, Mapper, MapperBuilder, Mapping, ResponseFuture as MapperResponseFuture, WrapTarget,
};
pub use upstream::{
    ConnectionCap, HostPolicy, ResponseFuture, UpgradeProtocols, Upstream, UpstreamBuilder,
};
