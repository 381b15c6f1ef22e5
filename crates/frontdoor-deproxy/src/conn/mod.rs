//! Connections: the registry every endpoint records into, the endpoints' accept
//! loops and connectors (hyper and raw), the handle a connector holds for one
//! connection, and the client side of an exchange.
//!
//! Inside, modules import only downwards: `origin` (the accept loop and the
//! named connectors) dispatches to `hyper_server` and `raw_server`, which
//! implement `connector`'s trait and run requests through `connection`'s
//! handle, which drives `pipeline`, which records into `registry`.
//!
//! This is the bottom of the crate. It imports only the data modules beside it
//! (`consts`, `wire`, `fault`, `handler`, `record`) and nothing from the public API
//! modules above it (`deproxy`, `endpoint`, `request`, `chain`, `handlers`). Its
//! public types (`Connector`, `Connection`, `HyperConnector`, `RawConnector`,
//! `ClientConnection`) are re-exported at the crate root.

pub(crate) mod client;
pub(crate) mod connection;
pub(crate) mod connector;
pub(crate) mod hyper_server;
pub(crate) mod origin;
pub(crate) mod pipeline;
pub(crate) mod raw_server;
pub(crate) mod registry;
pub(crate) mod transport;
