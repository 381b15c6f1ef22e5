//! The one extension trait for [`tower::ServiceBuilder`].

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
/// One method per layer, each gated by that layer's cargo feature; the methods are
/// added as the layer crates land. Sealed: implemented only for `ServiceBuilder`.
pub trait ServiceBuilderExt<L>: sealed::Sealed<L> + Sized {}

impl<L> sealed::Sealed<L> for ServiceBuilder<L> {}

impl<L> ServiceBuilderExt<L> for ServiceBuilder<L> {}
