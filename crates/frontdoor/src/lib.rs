//! Composable [tower] layers for HTTP routing and reverse proxying.
//!
//! frontdoor puts a front door in front of your services: resolve which virtual
//! host, port and path a request is for, route it through an ordered table of
//! WFront-style `host:port:path` specs, clean it up with declarative rules, relocate
//! it from the local root to the remote one, and forward it to an upstream, each
//! step a tower layer usable on its own. This crate is the facade: it re-exports
//! every layer crate behind a cargo feature, the multi-listener server
//! (`frontdoor-serve`) as [`serve`] among them, and adds [`ServiceBuilderExt`], the
//! [`ingress`] layer (what `serve` checks, for stacks served by `axum::serve` or
//! hyper), the [`demo`] backends, [`compress`] (response compression),
//! [`by_scheme`] (the by-scheme resolver combined with the router), [`conn`]
//! (`ConnInfo` for servers of your own), [`redirect_https`] and, with the `axum`
//! feature, `axum` (extractors and `conn_info` for `axum::serve`).
//!
//! Start with [**Concepts**](concepts): the resolved `host:port:path`, script name and
//! path info, the layer order that works, and where each layer goes relative to
//! axum's router. Coming from WFront, proxylet, rouille or nginx? See
//! [**Migration**](migration).
//!
//! A request flows resolve → route (→ the route's cleanup filter) → relocate →
//! upstream; each layer reads only the typed extensions (from [`core`]) stamped
//! before it.
//!
//! # Example
//!
//! ```no_run
//! use frontdoor::{demo, serve::Server, BoxError};
//! use tower::ServiceBuilder;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), BoxError> {
//! let svc = ServiceBuilder::new().service(demo::echo());
//! let server = Server::bind(&["127.0.0.1:8080".parse()?]).await?;
//! server.serve_with_shutdown(svc, frontdoor::serve::shutdown_signal()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! | feature | what | default |
//! |---|---|---|
//! | `serve` | re-export `frontdoor-serve` as [`serve`]: [`serve::Server`], HTTP/1.1 + h2c listeners, `ConnInfo`, timeouts, graceful shutdown | yes |
//! | `tls` | `serve::tls`: HTTPS listeners with rustls (`ring`), ALPN `h2`/`http/1.1`, SNI certificates swapped at runtime | no |
//! | `demo` | [`demo`] echo and redirect backends | yes |
//! | `resolve` | re-export `frontdoor-resolve` as [`resolve`] | yes |
//! | `route` | re-export `frontdoor-route` as [`route`] | yes |
//! | `cleanup` | re-export `frontdoor-cleanup` as [`cleanup`] | yes |
//! | `relocate` | re-export `frontdoor-relocate` as [`relocate`] | yes |
//! | `upstream` | re-export `frontdoor-upstream` as [`upstream`] | yes |
//! | `upstream-tls` | `https://` upstreams with rustls (`ring`, webpki roots) | no |
//! | `mirror` | re-export `frontdoor-mirror` as [`mirror`]; with `upstream`, [`mirror_to`] (a `MirrorLayer` over an `Upstream`) | yes |
//! | `gor` | re-export `frontdoor-gor` (GoReplay middleware protocol) as [`gor`] | yes |
//! | `compress` | [`compress`]: response compression (gzip, br, zstd) negotiated by `Accept-Encoding`, over tower-http's `CompressionLayer` | yes (through `plan`) |
//! | `rate-limit` | [`rate_limit`]: request rate limits per client address, route or header (GCRA, `governor`), 429 with `Retry-After` | yes (through `plan`) |
//! | `deproxy` | re-export `frontdoor-deproxy` (a test harness) as `deproxy` | no |
//! | `axum` | `axum`: the extractors re-exported, `conn_info` for `axum::serve` | no |
//!
//! A layer crate's feature is default only once that crate holds code; until then
//! it stays an optional feature.
//!
//! Compiler messages name the layer crates by their own names: `frontdoor_route::Router`
//! is [`route::Router`](crate::route::Router), `frontdoor_resolve::Resolve` is
//! `resolve::Resolve`, and so on (each module here is that crate, re-exported).
//!
//! Runnable examples, each tested on loopback, live in the workspace's `examples/`
//! folder.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
mod builder;
#[cfg(all(feature = "resolve", feature = "route"))]
pub mod by_scheme;
#[cfg(feature = "compress")]
#[cfg_attr(docsrs, doc(cfg(feature = "compress")))]
pub mod compress;
pub mod concepts;
pub mod conn;
#[cfg(feature = "demo")]
pub mod demo;
pub mod ingress;
pub mod migration;
#[cfg(feature = "plan")]
#[cfg_attr(docsrs, doc(cfg(feature = "plan")))]
pub mod plan;
#[cfg(feature = "rate-limit")]
#[cfg_attr(docsrs, doc(cfg(feature = "rate-limit")))]
pub mod rate_limit;
pub mod redirect_https;
#[cfg(all(feature = "relocate", feature = "upstream"))]
mod relocated;
#[cfg(all(feature = "mirror", feature = "upstream"))]
mod shadow;
#[cfg(feature = "plan")]
#[cfg_attr(docsrs, doc(cfg(feature = "plan")))]
pub mod telemetry;

pub use builder::ServiceBuilderExt;
pub use frontdoor_core as core;
pub use frontdoor_core::{Body, BoxError, Error, ErrorKind};
#[cfg(all(feature = "relocate", feature = "upstream"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "relocate", feature = "upstream"))))]
pub use relocated::{relocated_upstream, RelocatedTargets};
#[cfg(all(feature = "mirror", feature = "upstream"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "mirror", feature = "upstream"))))]
pub use shadow::{mirror_to, mirror_via, shadow_upstream};

#[cfg(feature = "cleanup")]
pub use frontdoor_cleanup as cleanup;
#[cfg(feature = "deproxy")]
pub use frontdoor_deproxy as deproxy;
#[cfg(feature = "gor")]
pub use frontdoor_gor as gor;
#[cfg(feature = "mirror")]
pub use frontdoor_mirror as mirror;
#[cfg(feature = "relocate")]
pub use frontdoor_relocate as relocate;
#[cfg(feature = "resolve")]
pub use frontdoor_resolve as resolve;
#[cfg(feature = "route")]
pub use frontdoor_route as route;
#[cfg(feature = "serve")]
pub use frontdoor_serve as serve;
#[cfg(feature = "upstream")]
pub use frontdoor_upstream as upstream;
