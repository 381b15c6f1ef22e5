//! The shared vocabulary of the frontdoor layers.
//!
//! Every frontdoor layer talks to the others through the types defined here, never
//! through private headers or string maps:
//!
//! | type | inserted by | read by |
//! |---|---|---|
//! | [`ConnInfo`] | the acceptor (`frontdoor::serve`) | resolvers, forwarded headers |
//! | [`TlsInfo`] | the acceptor, on TLS connections only | logs, services that want the SNI name |
//! | [`OriginalUri`] | the outermost layer that sees the request | logs, cleanup rules |
//! | [`Resolved`] | the resolver layer | the router, cleanup, relocation |
//! | [`Mount`] | the router when it consumes a prefix | inner services, cleanup |
//! | [`PeerTrust`] | the resolver layer | forwarded-header writers (upstream) |
//! | [`MatchedRoute`] | the router | logs, metrics |
//! | [`Vars`] | cleanup rules | inner services |
//! | [`Schemes`] | configuration | the by-scheme resolver and the router |
//!
//! It also holds the erased [`Body`] type, the [`Error`] taxonomy with its HTTP status
//! mapping ([`ErrorKind::status`]), a small [`text_response`] builder,
//! [`canonicalize`], the one path canonicalisation used by every layer that matches on
//! paths, and [`UploadBody`], the request body wrapper that turns every way a client
//! body can stop short into an error, so the upstream request it feeds is aborted.
//!
//! Each extension type is also an axum extractor (`async fn handler(resolved:
//! Resolved)`): see the [`extract`] module for what each one does when its extension
//! is absent.
//!
//! # Example
//!
//! ```
//! use frontdoor_core::{canonicalize, Mount, Resolved};
//! use http::Uri;
//!
//! # fn main() -> Result<(), frontdoor_core::BoxError> {
//! // One canonical path string for matching, consuming and forwarding.
//! assert_eq!(canonicalize("/a/./b/../%7euser")?, "/a/~user");
//!
//! // The resolver's verdict prints as WFront's `host:port:path`.
//! let resolved: Resolved = "www.example.com:80:/svn/trunk".parse()?;
//! assert_eq!(resolved.port, 80);
//! assert_eq!(resolved.to_string(), "www.example.com:80:/svn/trunk");
//!
//! // The router moves a matched prefix from path info to script name.
//! let mut mount = Mount::from_path("/svn/trunk");
//! assert!(mount.consume("/svn"));
//! assert_eq!((mount.script_name(), mount.path_info()), ("/svn", "/trunk"));
//! let uri: Uri = "/svn/trunk?r=1".parse()?;
//! assert_eq!(mount.rebuild_uri(&uri)?, "/trunk?r=1");
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! This crate has no optional features.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod macros;

mod answer;
mod body;
mod error;
mod ext;
pub mod extract;
mod mount;
mod path;
pub mod proto;
mod schemes;
#[cfg(unix)]
pub mod splice;
mod trace;
mod upload;
pub mod values;

pub use answer::InnerOrAnswer;
pub use body::{Body, BoxError};
pub use error::{text_response, Error, ErrorKind};
pub use ext::{
    ConnInfo, HostSource, MatchedRoute, Mode, OriginalUri, ParseResolvedError, PeerTrust, Resolved,
    TlsInfo, Vars,
};
pub use extract::MissingExtension;
pub use mount::Mount;
pub use path::{
    canonicalize, canonicalize_with, decode_path, CanonicalOptions, EncodedSlash, PathError,
};
pub use schemes::Schemes;
pub use trace::{RequestId, TraceContext};
pub use upload::{EndStream, MessageEnd, Unchecked, UploadBody};
