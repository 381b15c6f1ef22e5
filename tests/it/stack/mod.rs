//! The full frontdoor stack (resolve, route, cleanup, upstream with gateway errors)
//! against deproxy origins: origin and client faults, smuggling, disconnects,
//! pipelining, late traffic and upgrades. The stack is built in [`support`].

mod client;
mod faults;
mod flow;
mod smuggling;
pub(crate) mod support;
