//! Connection internals: the registry every endpoint records into, the endpoints'
//! accept loops and servers (hyper and raw), and the client side of an exchange.
//!
//! Inside, modules import only downwards: `origin` (the accept loop) dispatches to
//! `hyper_server` and `raw_server`, which run requests through `pipeline`, which
//! records into `registry`.
//!
//! This is the bottom of the crate. It imports only the data modules beside it
//! (`consts`, `wire`, `fault`, `handler`, `record`) and nothing from the public API
//! modules above it (`deproxy`, `endpoint`, `request`, `chain`, `handlers`).

pub(crate) mod client;
mod hyper_server;
pub(crate) mod origin;
pub(crate) mod pipeline;
mod raw_server;
pub(crate) mod registry;
