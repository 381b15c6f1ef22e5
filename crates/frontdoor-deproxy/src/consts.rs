//! Names and limits shared by the public API, the client side and the endpoints.

/// The name of the correlation header, as in the original Deproxy.
pub const REQUEST_ID_HEADER: &str = "deproxy-request-id";

/// The `Server` and `User-Agent` value the harness sends by default.
pub const VERSION_STRING: &str = concat!("deproxy-rs/", env!("CARGO_PKG_VERSION"));

/// Default cap on request and response bodies the harness buffers.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

/// Cap on a request or response head.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
