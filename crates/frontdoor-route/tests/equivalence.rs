//! Property test: for random tables and requests, the indexed matcher returns exactly
//! what a naive first-match linear scan of the same table returns (route and
//! consumption), in both modes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]
#![allow(missing_docs, reason = "tests")]

use frontdoor_core::Schemes;
use frontdoor_route::{Mode, RouteErrorKind, RouteSpec, Table, Target};
use proptest::prelude::*;

const HOSTS: &[&str] = &[
    "", "*", "a.com", "b.a.com", "*.a.com", "*.com", "x*.a.com", "a*", "c.org", "*b.a.com", "*.*",
    "b.*.com",
];
const PORTS: &[&str] = &["", "*", "80", "443", "http", "https", "8080"];
const PATHS: &[&str] = &[
    "", "*", "/", "/a", "/a/b", "/a*", "/*/b", "/b", "/a/b/c", "/ab", "/a/*", "/*", "/a/b*/c",
];
const REGEXES: &[&str] = &[
    "a\\.com:80:",
    "[^:]+:https:(?P<pathinfo>/a)",
    "(?P<pathinfo>/b)",
    "[^:]*:[0-9]+:(?P<pathinfo>/ab?)",
    "c\\.org:",
    "[^:]+:[^:]+:(?P<pathinfo>/a/b)?",
];

const REQ_HOSTS: &[&str] = &[
    "",
    "a.com",
    "b.a.com",
    "c.b.a.com",
    "x.a.com",
    "xy.a.com",
    "a.org",
    "c.org",
    "com",
    "ab",
    "b.x.com",
    "[::1]",
];
const REQ_PORTS: &[u16] = &[80, 443, 8080, 81];
const REQ_PATHS: &[&str] = &[
    "/", "/a", "/a/", "/a/b", "/a/b/c", "/ab", "/ab/b", "/x/b", "/b", "/a/bc", "/a/b/c/d",
    "/a/bz/c",
];

fn spec_strategy() -> impl Strategy<Value = RouteSpec> {
    prop_oneof![
        8 => (0..HOSTS.len(), 0..PORTS.len(), 0..PATHS.len())
            .prop_map(|(h, p, q)| RouteSpec::from(format!("{}:{}:{}", HOSTS[h], PORTS[p], PATHS[q]))),
        1 => (0..REGEXES.len()).prop_map(|i| RouteSpec::regex(REGEXES[i])),
    ]
}

/// Compiles `specs`, dropping any spec that duplicates an earlier one.
fn compile(mut specs: Vec<RouteSpec>, mode: Mode) -> Table {
    loop {
        match Table::compile(specs.clone(), mode, &Schemes::new()) {
            Ok(t) => return t,
            Err(e) if e.kind() == RouteErrorKind::Duplicate => {
                specs.remove(e.index().unwrap());
            }
            Err(e) => panic!("{e}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn indexed_equals_linear(
        specs in prop::collection::vec(spec_strategy(), 1..40),
        reqs in prop::collection::vec((0..REQ_HOSTS.len(), 0..REQ_PORTS.len(), 0..REQ_PATHS.len(), any::<bool>()), 1..20),
    ) {
        for mode in [Mode::Strict, Mode::Wfront04] {
            let table = compile(specs.clone(), mode);
            for &(h, p, q, labelled) in &reqs {
                let port = REQ_PORTS[p];
                let label = match (labelled, port) {
                    (true, 80) => Some("http"),
                    (true, 443) => Some("https"),
                    _ => None,
                };
                let target = Target::new(REQ_HOSTS[h], port, REQ_PATHS[q]).with_label(label);
                prop_assert_eq!(
                    table.find(&target),
                    table.find_linear(&target),
                    "{:?} {} on {:?}", mode, target, table.dump()
                );
            }
        }
    }
}
