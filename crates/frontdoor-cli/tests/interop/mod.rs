//! Support for `tests/interop.rs`: the Apache origin, the `frontdoor` binary in front of it,
//! and the three clients (litmus, svn, curl).

pub(crate) mod front;
pub(crate) mod litmus;
pub(crate) mod origin;
pub(crate) mod probes;
pub(crate) mod svn;
pub(crate) mod tools;

/// A named step or probe and, when it failed, why.
#[derive(Debug)]
pub(crate) struct Check {
    pub(crate) name: &'static str,
    pub(crate) error: Option<String>,
}

impl Check {
    pub(crate) fn new(name: &'static str, result: Result<(), String>) -> Self {
        Self {
            name,
            error: result.err(),
        }
    }
}

/// `passed/run`.
pub(crate) fn score(checks: &[Check]) -> String {
    let passed = checks.iter().filter(|c| c.error.is_none()).count();
    format!("{passed}/{}", checks.len())
}

/// `name: why` for every failed check.
pub(crate) fn failures(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter_map(|c| c.error.as_ref().map(|e| format!("{}: {e}", c.name)))
        .collect()
}
