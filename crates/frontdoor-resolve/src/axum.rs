//! An axum extractor for the [`Resolved`] extension (feature `axum`).

use std::fmt;

use axum_core::{
    extract::FromRequestParts,
    response::{IntoResponse, Response},
};
use frontdoor_core::{text_response, Resolved};
use http::{request::Parts, StatusCode};

/// Extracts the [`Resolved`] verdict that [`ResolveLayer`](crate::ResolveLayer)
/// stamped on the request.
///
/// Rejects with [`MissingResolved`] (500) when the layer is not installed in front of
/// the handler: that is a server misconfiguration, not a client error.
///
/// ```
/// use axum_core::extract::FromRequestParts;
/// use frontdoor_core::Resolved;
/// use frontdoor_resolve::axum::ResolvedTarget;
/// use http::Request;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (mut parts, ()) = Request::get("/").body(()).unwrap().into_parts();
/// let missing = ResolvedTarget::from_request_parts(&mut parts, &()).await.unwrap_err();
/// assert_eq!(missing.to_string(), "the Resolved extension is missing: add frontdoor_resolve::ResolveLayer in front of this handler");
///
/// parts.extensions.insert("h:80:/".parse::<Resolved>().unwrap());
/// let ResolvedTarget(resolved) = ResolvedTarget::from_request_parts(&mut parts, &()).await.unwrap();
/// assert_eq!(resolved.host, "h");
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedTarget(pub Resolved);

impl<S: Sync> FromRequestParts<S> for ResolvedTarget {
    type Rejection = MissingResolved;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Resolved>()
            .cloned()
            .map(Self)
            .ok_or(MissingResolved(()))
    }
}

/// Rejection of [`ResolvedTarget`]: the resolver layer is missing (500).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingResolved(());

impl fmt::Display for MissingResolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the Resolved extension is missing: add frontdoor_resolve::ResolveLayer in front of this handler",
        )
    }
}

impl std::error::Error for MissingResolved {}

impl IntoResponse for MissingResolved {
    fn into_response(self) -> Response {
        text_response(StatusCode::INTERNAL_SERVER_ERROR, self.to_string())
            .map(axum_core::body::Body::new)
    }
}
