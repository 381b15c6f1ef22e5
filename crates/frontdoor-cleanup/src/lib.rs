//! Declarative request rewrite rules: the typed successor of WFront's built-in cleanup
//! filter (`EnvironRewriter`).
//!
//! A [`Rules`] set is built once, validated, with the typed builder
//! ([`Rules::builder`]), and runs on each request either standalone as a
//! [`CleanupLayer`] (WFront's `as_middleware_for`) or as a per-route filter of the
//! router (a filter is a boxed layer, see the [`cleanup`] module example). WFront's
//! two text syntaxes build the same rules through the same builder
//! ([`Rules::parse`]), for migrating existing configs.
//!
//! # Operations and evaluation order
//!
//! Rules run by [`Category`], always in this order, and in the order given within a
//! category (WFront's fixed order, which its recipes depend on):
//!
//! | # | operation | builder method | text directive | shortcut |
//! |---|---|---|---|---|
//! | 1 | copy a present target to another | [`copy`](RulesBuilder::copy) | `wfront.copy.SRC: DST` | `=SRC: DST` |
//! | 2 | strip a prefix on a segment boundary / remove a substring | [`strip_prefix`](RulesBuilder::strip_prefix), [`strip_path`](RulesBuilder::strip_path), [`subtract`](RulesBuilder::subtract), [`remove_first_substring`](RulesBuilder::remove_first_substring) | `wfront.subtract.K`, `wfront.strip_path` | `-K`, `-/` |
//! | 3 | remove the first regex match | [`sub`](RulesBuilder::sub) | `wfront.sub.K` | `~K` |
//! | 4 | assign a [`Template`] | [`template`](RulesBuilder::template) | `wfront.sprintf.K` | `%K` |
//! | 5 | assign a template when absent or empty | [`set_default`](RulesBuilder::set_default) | `wfront.setdefault.K` | `\|\|=K` |
//! | 6 | remove | [`remove`](RulesBuilder::remove) | `wfront.remove.K` | `K: None` |
//! | 7 | set a literal | [`set`](RulesBuilder::set) | `wfront.replace.K`, plain `K` | `K` |
//! | 8 | `Host` from the resolver's verdict | [`reset_host`](RulesBuilder::reset_host) | `wfront.reset_host` | `>host` |
//!
//! Targets are typed ([`Target`]): a header, the script name and path info of the
//! [`Mount`](frontdoor_core::Mount) split (writing the path info rewrites the URI and
//! keeps the query byte for byte), the [`OriginalUri`](frontdoor_core::OriginalUri),
//! the scheme, and free variables in the [`Vars`](frontdoor_core::Vars) extension. The
//! text syntaxes map CGI keys onto them ([`Target::from_cgi_key`]).
//!
//! # Safety by default
//!
//! * Errors are found when the set is built, naming the rule ([`CleanupError`]): unknown
//!   text directives, invalid regexes (the [`regex`] crate, linear time), malformed
//!   templates, literal header values with CR, LF or NUL.
//! * Every value written into a header is a validated [`http::HeaderValue`]. A
//!   template that renders an invalid value at request time is skipped with a
//!   `tracing` warning; nothing panics on the request path.
//! * A path written to the path info is canonicalised again, with the options the
//!   resolver applied ([`Resolved::canonical`](frontdoor_core::Resolved::canonical)):
//!   the upstream gets the path the routing would have seen (`/a/../b` is `/b`), and
//!   one those options refuse (`%2F` under `reject`) is not written (the rule is
//!   skipped with a warning, the request keeps its path).
//! * Prefix stripping on paths is anchored on segment boundaries. WFront 0.4's
//!   "first occurrence anywhere" is available by its explicit name
//!   ([`remove_first_substring`](RulesBuilder::remove_first_substring)) and in
//!   [`Mode::Wfront04`], which lists every behaviour that differs.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use frontdoor_cleanup::{CleanupLayer, Rules, Target};
//! use frontdoor_core::{Body, BoxError, Mount, Vars};
//! use http::{HeaderName, Request, Response};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let rules = Rules::builder()
//!     .set(Target::var("mode"), "wap")
//!     .strip_path("/legacy")
//!     .template(HeaderName::from_static("x-app"), "frontdoor/%s")
//!     .remove(http::header::COOKIE)
//!     .build()?;
//!
//! let svc = ServiceBuilder::new()
//!     .layer(CleanupLayer::new(rules))
//!     .service_fn(|req: Request<Body>| async move {
//!         // what the inner service sees
//!         assert_eq!(req.uri(), "/page?q=1");
//!         assert_eq!(req.headers()["x-app"], "frontdoor/1.0");
//!         assert!(req.headers().get("cookie").is_none());
//!         assert_eq!(req.extensions().get::<Vars>().unwrap().get("mode"), Some("wap"));
//!         assert_eq!(Mount::of(&req).path_info(), "/page");
//!         Ok::<_, Infallible>(Response::new(Body::empty()))
//!     });
//!
//! let req = Request::builder()
//!     .uri("/legacy/page?q=1")
//!     .header("x-app", "1.0")
//!     .header("cookie", "secret=1")
//!     .body(Body::empty())?;
//! svc.oneshot(req).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Migrating from WFront
//!
//! WFront's rules, in its verbose or shortcut text syntax ([`Syntax`]), parse into
//! the same typed rules; the evaluation order is fixed by category either way, so
//! the order of the lines does not matter:
//!
//! ```
//! use frontdoor_cleanup::{Rules, Syntax, Target};
//! use http::HeaderName;
//!
//! let text = Rules::parse(
//!     Syntax::Shortcut,
//!     "-/: /legacy\n%HTTP_X_APP: frontdoor/%s\nmode: wap\nHTTP_COOKIE: None",
//! )?;
//! let typed = Rules::builder()
//!     .set(Target::var("mode"), "wap")
//!     .strip_path("/legacy")
//!     .template(HeaderName::from_static("x-app"), "frontdoor/%s")
//!     .remove(http::header::COOKIE)
//!     .build()?;
//! assert_eq!(text, typed);
//! # Ok::<(), frontdoor_cleanup::CleanupError>(())
//! ```
//!
//! Use [`RulesBuilder::mode`] with [`Mode::Wfront04`] where a recipe depends on a
//! WFront 0.4 behaviour that strict mode changes.
//!
//! # Feature flags
//!
//! | feature | what | default |
//! |---|---|---|
//! | *(none)* | this crate has no optional features | |
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod cleanup;
mod error;
mod rules;
mod syntax;
mod target;
mod template;

pub use cleanup::{Cleanup, CleanupLayer};
pub use error::{CleanupError, CleanupErrorKind};
pub use rules::{Category, Mode, Rule, Rules, RulesBuilder};
pub use syntax::{expand, parse_lines, Syntax};
pub use target::Target;
pub use template::{Template, TemplatePart};
