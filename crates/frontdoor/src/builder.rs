//! The one extension trait for [`tower::ServiceBuilder`].

use tower::layer::util::Stack;
use tower::ServiceBuilder;

mod sealed {
    #[allow(
        unreachable_pub,
        unnameable_types,
        reason = "sealed trait, never nameable outside"
    )]
    pub trait Sealed<L> {}
}

/// Adds frontdoor's layers to [`tower::ServiceBuilder`].
///
/// One method per layer, each gated by that layer's cargo feature. Sealed:
/// implemented only for `ServiceBuilder`.
///
/// ```
/// use std::convert::Infallible;
///
/// use frontdoor::{demo, Body, ServiceBuilderExt};
/// use frontdoor::cleanup::Rules;
/// use frontdoor::resolve::DirectResolver;
/// use frontdoor::route::Router;
/// use http::Request;
/// use http_body_util::BodyExt;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), frontdoor::BoxError> {
/// let echo = ServiceBuilder::new()
///     .cleanup(Rules::builder().set(http::HeaderName::from_static("x-via-frontdoor"), "yes").build()?)
///     .service(demo::echo());
/// let routes = Router::builder().route("::/app", echo).into_layer()?;
/// let svc = ServiceBuilder::new()
///     .resolve(DirectResolver::new())
///     .routes(routes)
///     .service(tower::service_fn(|_req: Request<Body>| async {
///         Ok::<_, Infallible>(frontdoor::core::text_response(http::StatusCode::NOT_FOUND, "none"))
///     }));
///
/// let req = Request::get("/app/page?x=1").header("host", "example.com").body(Body::empty())?;
/// let res = svc.oneshot(req).await?;
/// let json: serde_json::Value = serde_json::from_slice(&res.into_body().collect().await?.to_bytes())?;
/// assert_eq!(json["path"], "/page");
/// assert_eq!(json["script_name"], "/app");
/// assert_eq!(json["resolved"], "example.com:80:/app/page");
/// assert_eq!(json["headers"][1], serde_json::json!(["x-via-frontdoor", "yes"]));
/// # Ok(())
/// # }
/// ```
pub trait ServiceBuilderExt<L>: sealed::Sealed<L> + Sized {
    /// Refuses bad framing and removes client-nominated hop-by-hop headers at the edge
    /// of a stack served by something other than [`crate::serve`]. See
    /// [`crate::ingress`].
    fn ingress(self) -> ServiceBuilder<Stack<crate::ingress::IngressLayer, L>>;

    /// Resolves `host:port:path` with `resolver`. See [`crate::resolve`].
    #[cfg(feature = "resolve")]
    fn resolve<R>(
        self,
        resolver: R,
    ) -> ServiceBuilder<Stack<frontdoor_resolve::ResolveLayer<R>, L>>
    where
        R: frontdoor_resolve::Resolver;

    /// Routes through a compiled table, the inner service being the default. See
    /// [`crate::route`].
    #[cfg(feature = "route")]
    fn routes(
        self,
        routes: frontdoor_route::RouteLayer,
    ) -> ServiceBuilder<Stack<frontdoor_route::RouteLayer, L>>;

    /// Applies declarative rewrite rules. See [`crate::cleanup`].
    #[cfg(feature = "cleanup")]
    fn cleanup(
        self,
        rules: frontdoor_cleanup::Rules,
    ) -> ServiceBuilder<Stack<frontdoor_cleanup::CleanupLayer, L>>;

    /// Answers upstream errors with 502/503/504. See [`crate::upstream`].
    #[cfg(feature = "upstream")]
    fn gateway_errors(self) -> ServiceBuilder<Stack<frontdoor_upstream::GatewayErrorLayer, L>>;

    /// Compresses answers for clients that accept it. Put it outside `relocate`, so
    /// a rewritten page is compressed after its rewrite. See [`crate::compress`].
    #[cfg(feature = "compress")]
    fn compress(
        self,
        layer: crate::compress::CompressLayer,
    ) -> ServiceBuilder<Stack<crate::compress::CompressLayer, L>>;

    /// Relocates requests from the public root to the upstream's and responses back.
    /// Put it between the router and the upstream. See [`crate::relocate`].
    #[cfg(feature = "relocate")]
    fn relocate(
        self,
        layer: frontdoor_relocate::RelocateLayer,
    ) -> ServiceBuilder<Stack<frontdoor_relocate::RelocateLayer, L>>;

    /// Shadows selected requests to a shadow upstream. Put it in front of the
    /// upstream, so the shadow sees what the upstream sees. See [`crate::mirror`].
    #[cfg(feature = "mirror")]
    fn mirror(
        self,
        layer: frontdoor_mirror::MirrorLayer,
    ) -> ServiceBuilder<Stack<frontdoor_mirror::MirrorLayer, L>>;
}

impl<L> sealed::Sealed<L> for ServiceBuilder<L> {}

impl<L> ServiceBuilderExt<L> for ServiceBuilder<L> {
    fn ingress(self) -> ServiceBuilder<Stack<crate::ingress::IngressLayer, L>> {
        self.layer(crate::ingress::IngressLayer::new())
    }

    #[cfg(feature = "resolve")]
    fn resolve<R>(self, resolver: R) -> ServiceBuilder<Stack<frontdoor_resolve::ResolveLayer<R>, L>>
    where
        R: frontdoor_resolve::Resolver,
    {
        self.layer(frontdoor_resolve::ResolveLayer::new(resolver))
    }

    #[cfg(feature = "route")]
    fn routes(
        self,
        routes: frontdoor_route::RouteLayer,
    ) -> ServiceBuilder<Stack<frontdoor_route::RouteLayer, L>> {
        self.layer(routes)
    }

    #[cfg(feature = "cleanup")]
    fn cleanup(
        self,
        rules: frontdoor_cleanup::Rules,
    ) -> ServiceBuilder<Stack<frontdoor_cleanup::CleanupLayer, L>> {
        self.layer(frontdoor_cleanup::CleanupLayer::new(rules))
    }

    #[cfg(feature = "upstream")]
    fn gateway_errors(self) -> ServiceBuilder<Stack<frontdoor_upstream::GatewayErrorLayer, L>> {
        self.layer(frontdoor_upstream::GatewayErrorLayer::new())
    }

    #[cfg(feature = "compress")]
    fn compress(
        self,
        layer: crate::compress::CompressLayer,
    ) -> ServiceBuilder<Stack<crate::compress::CompressLayer, L>> {
        self.layer(layer)
    }

    #[cfg(feature = "relocate")]
    fn relocate(
        self,
        layer: frontdoor_relocate::RelocateLayer,
    ) -> ServiceBuilder<Stack<frontdoor_relocate::RelocateLayer, L>> {
        self.layer(layer)
    }

    #[cfg(feature = "mirror")]
    fn mirror(
        self,
        layer: frontdoor_mirror::MirrorLayer,
    ) -> ServiceBuilder<Stack<frontdoor_mirror::MirrorLayer, L>> {
        self.layer(layer)
    }
}

#[cfg(all(test, feature = "relocate", feature = "mirror", feature = "upstream"))]
mod tests {
    use std::convert::Infallible;

    use frontdoor_core::Body;
    use frontdoor_mirror::{MirrorLayer, TeeBody};
    use frontdoor_relocate::{Profile, RelocateLayer};
    use http::{Request, Response};
    use tower::{ServiceBuilder, ServiceExt};

    use super::ServiceBuilderExt;

    /// The per-route order of the Concepts page: gateway errors, relocation, mirror,
    /// then the upstream (here a redirect naming the upstream's own URL).
    #[tokio::test]
    async fn relocate_and_mirror_stack_in_front_of_an_upstream() {
        let upstream = tower::service_fn(|_req: Request<TeeBody<Body>>| async {
            let res = Response::builder()
                .status(302)
                .header("location", "http://origin/base/next")
                .body(Body::empty());
            Ok::<_, Infallible>(res.unwrap())
        });
        let shadow = tower::service_fn(|_req: Request<Body>| async {
            Ok::<_, Infallible>(Response::new(Body::empty()))
        });
        let svc = ServiceBuilder::new()
            .gateway_errors()
            .relocate(
                RelocateLayer::new(Profile::Plain)
                    .remote_root("http://origin/base".parse().unwrap())
                    .local_root("http://public/app".parse().unwrap()),
            )
            .mirror(MirrorLayer::new(shadow))
            .service(upstream);
        let res = svc.oneshot(Request::new(Body::empty())).await.unwrap();
        assert_eq!(res.headers()["location"], "http://public/app/next");
    }
}
