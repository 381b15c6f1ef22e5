//! The full frontdoor stack (resolve, route, cleanup, upstream with gateway errors)
//! against deproxy origins: faults, smuggling, disconnects, pipelining.

mod client;
mod faults;
mod flow;
mod smuggling;
mod support;
