//! [`RouteOptions`]: what a route does besides matching, and [`Prefix`].

use super::Filter;

/// What happens to the path prefix a route's spec matched.
///
/// With [`Prefix::Consume`] (the default) the matched prefix moves from path info to
/// script name ([`Mount`](frontdoor_core::Mount)): `::/api` calls its service with
/// `/users` for `/api/users` and `/api` added to the script name, so routers nest and
/// a proxied upstream sees the path below its mount point. With [`Prefix::Keep`]
/// nothing moves: the service sees the whole path as path info (`/api/users`) and the
/// script name as it was before the router, as nginx's `proxy_pass http://host;`
/// (no URI part) forwards the path unchanged.
///
/// `Keep` applies to every kind of spec the same way: a regex spec's `pathinfo` group
/// and [`Mode::Wfront04`](crate::Mode::Wfront04)'s length-based consumption still
/// decide whether the route matches, but nothing is consumed. The path the route sees
/// is the string that was matched (canonical, as with `Consume`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Prefix {
    /// The matched prefix moves from path info to script name (the default).
    #[default]
    Consume,
    /// The matched prefix stays in the path info; the script name is unchanged.
    Keep,
}

/// A route's options, for [`RouterBuilder::route_with_options`]: its [`Filter`]
/// (none by default) and what happens to the matched [`Prefix`]
/// ([`Prefix::Consume`] by default). [`RouterBuilder::route`] and
/// [`RouterBuilder::route_with_filter`] are shorthands for the defaults and for a
/// filter alone.
///
/// [`RouterBuilder::route_with_options`]: super::RouterBuilder::route_with_options
/// [`RouterBuilder::route`]: super::RouterBuilder::route
/// [`RouterBuilder::route_with_filter`]: super::RouterBuilder::route_with_filter
///
/// ```
/// use std::convert::Infallible;
///
/// use frontdoor_core::{text_response, Body, Mount};
/// use frontdoor_route::{Prefix, RouteOptions, Router};
/// use http::{Request, Response, StatusCode};
/// use tower::{service_fn, ServiceExt};
///
/// /// Answers with the script name and the URI the route service sees.
/// async fn show(req: Request<Body>) -> Result<Response<Body>, Infallible> {
///     let mount = Mount::of(&req);
///     Ok(text_response(StatusCode::OK, format!("[{}] {}", mount.script_name(), req.uri())))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), frontdoor_core::BoxError> {
/// let router = Router::builder()
///     .route_with_options("::/api", service_fn(show), RouteOptions::new().prefix(Prefix::Keep))
///     .route("::/static", service_fn(show))
///     .build()?;
///
/// async fn get(router: &Router, uri: &str) -> Result<String, frontdoor_core::BoxError> {
///     let req = Request::builder().uri(uri).header("host", "h").body(Body::empty())?;
///     let res = router.clone().oneshot(req).await?;
///     let body = http_body_util::BodyExt::collect(res.into_body()).await?.to_bytes();
///     Ok(String::from_utf8(body.to_vec())?.trim_end().to_owned())
/// }
///
/// // Kept: the whole path stays path info, nothing is added to the script name.
/// assert_eq!(get(&router, "/api/users?page=2").await?, "[] /api/users?page=2");
/// // Consumed (the default): the prefix moves to the script name.
/// assert_eq!(get(&router, "/static/a.css").await?, "[/static] /a.css");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct RouteOptions {
    pub(super) filter: Option<Filter>,
    pub(super) prefix: Prefix,
}

impl RouteOptions {
    /// The defaults: no filter, the matched prefix consumed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wraps the route's service in `filter` (see [`Filter`]).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Sets what happens to the matched path prefix. Default: [`Prefix::Consume`].
    pub fn prefix(mut self, prefix: Prefix) -> Self {
        self.prefix = prefix;
        self
    }
}
