//! Macros the layer crates share.

/// Writes a service's `get_ref`, `get_mut` and `into_inner`, the accessors every
/// frontdoor service has, for the common case: a service generic over `S` that
/// keeps its inner service in a field named `inner` (as tower-http's
/// `define_inner_service_accessors!`).
///
/// Invoke it inside an `impl<S> Foo<S>` block; the three methods are documented.
///
/// ```
/// /// A service that wraps another.
/// pub struct Wrap<S> {
///     inner: S,
///     calls: u64,
/// }
///
/// impl<S> Wrap<S> {
///     frontdoor_core::define_inner_service_accessors!();
/// }
///
/// let mut wrap = Wrap { inner: 7_u8, calls: 0 };
/// assert_eq!(*wrap.get_ref(), 7);
/// *wrap.get_mut() += 1;
/// assert_eq!(wrap.into_inner(), 8);
/// ```
#[macro_export]
macro_rules! define_inner_service_accessors {
    () => {
        /// The inner service.
        pub const fn get_ref(&self) -> &S {
            &self.inner
        }

        /// The inner service, mutably.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.inner
        }

        /// Consumes `self`, returning the inner service.
        pub fn into_inner(self) -> S {
            self.inner
        }
    };
}
