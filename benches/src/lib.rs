//! Benchmarks of the frontdoor workspace.
//!
//! * `benches/load/upstream.sh` (binary `upstream-load`): a by-hand load benchmark of
//!   the upstream proxy against the upstream hit directly and nginx, driven by `wrk`.
