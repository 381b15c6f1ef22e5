//! Real WebDAV and Subversion clients through the `frontdoor` binary.
//!
//! Each test starts, on loopback ports it picks, a private Apache origin (a `mod_dav_fs`
//! collection at `/webdav/`, an `svnadmin create`d repository at `/repos/proj`) and runs one
//! client three ways, each against a fresh origin:
//!
//! 1. directly against Apache: the baseline;
//! 2. through `frontdoor` with `relocate = "none"` on the same paths;
//! 3. through `frontdoor` with the relocated mount: public `/dav/` -> `/webdav/` with
//!    `relocate = "webdav"`, public `/svn` -> `/repos/proj` with `relocate = "svn"`. Only
//!    when [`relocation_supported`] says the binary accepts it; until then the test prints
//!    "relocation not wired into the binary yet" after the first two runs.
//!
//! litmus runs a fourth way: the relocated mount in front of an origin that gzips its
//! WebDAV answers unasked (`mod_deflate`), which the front door decodes, relocates and
//! sends to litmus (which accepts only identity) uncompressed.
//!
//! A test whose programs are missing (Debian packages `apache2`, `libapache2-mod-svn`,
//! `subversion`, `litmus`, `curl`) prints why and passes; `.ci/run` installs them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

#[path = "interop/mod.rs"]
mod support;

use support::{
    failures,
    front::{relocation_supported, Kind, Setup},
    litmus, origin, probes, score, svn,
    tools::{self, Scratch},
    Check,
};

const NOT_WIRED: &str = "relocation not wired into the binary yet \
     (`frontdoor check` refuses relocate = \"webdav\"/\"svn\"): the relocated run is skipped";

/// Whether every program of `origin::NEEDS` and `client` is installed; prints why not.
/// With `FRONTDOOR_INTEROP=require` (`.ci/run` as root, where it installs them) a missing
/// program fails the test instead.
fn installed(test: &str, client: &[&str]) -> bool {
    let missing = tools::missing(&[&origin::NEEDS[..], client].concat());
    if missing.is_empty() {
        return true;
    }
    let required = std::env::var("FRONTDOOR_INTEROP").is_ok_and(|v| v == "require");
    assert!(
        !required,
        "{test}: not installed: {} (FRONTDOOR_INTEROP=require)",
        missing.join(", ")
    );
    eprintln!("skipping {test}: not installed: {}", missing.join(", "));
    false
}

/// The last lines of Apache's error log, for failure messages.
fn log_tail(setup: &Setup) -> String {
    let log = setup.origin_log();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

// === litmus ===

fn run_litmus(kind: Kind) -> litmus::Report {
    let setup = Setup::start(kind);
    if kind == Kind::RelocatedGzip {
        origin_gzips(&setup);
    }
    let work = Scratch::new("litmus");
    let report = litmus::run(&setup.dav_url(), work.path());
    eprintln!("litmus {}: {report} at {}", kind.label(), setup.dav_url());
    for line in report.not_passed().iter().chain(&report.problems) {
        eprintln!("  {}: {line}", kind.label());
    }
    report
}

/// The gzipping origin answers a `PROPFIND` of an identity-only client in gzip (so
/// `mod_deflate` is loaded and on), and the front door answers it uncompressed, with
/// the collection's public href.
fn origin_gzips(setup: &Setup) {
    let propfind = |authority: &str, path: &str| {
        let mut stream = std::net::TcpStream::connect(authority).unwrap();
        let req = format!(
            "PROPFIND {path} HTTP/1.1\r\nHost: {authority}\r\nDepth: 0\r\n\
             Accept-Encoding: identity\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        std::io::Write::write_all(&mut stream, req.as_bytes()).unwrap();
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut stream, &mut raw).unwrap();
        String::from_utf8_lossy(&raw).into_owned()
    };
    let origin = propfind(&setup.origin_authority(), origin::DAV_PATH);
    let head = origin
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        head.starts_with("http/1.1 207") && head.contains("content-encoding: gzip"),
        "the origin does not gzip its multistatus: {head}\napache log:\n{}",
        log_tail(setup)
    );
    let front = propfind(&setup.authority, setup.dav);
    let (head, body) = front.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.1 207") && !head.to_ascii_lowercase().contains("content-encoding"),
        "through the front door: {head}"
    );
    assert!(body.contains("<D:href>/dav/</D:href>"), "{body}");
}

/// Every test that passed directly passes through the proxy, and every suite ran.
fn assert_litmus(direct: &litmus::Report, proxied: &litmus::Report, kind: Kind) {
    let lost: Vec<String> = direct
        .passed()
        .difference(&proxied.passed())
        .cloned()
        .collect();
    assert!(
        lost.is_empty() && proxied.problems.is_empty(),
        "litmus {}: {proxied} against {direct} directly; passed directly but not through \
         the proxy: {lost:?}; problems: {:?}",
        kind.label(),
        proxied.problems
    );
}

#[test]
fn litmus_through_the_proxy_passes_what_passes_directly() {
    if !installed("litmus", &litmus::NEEDS) {
        return;
    }
    let direct = run_litmus(Kind::Direct);
    assert!(
        direct.problems.is_empty(),
        "litmus direct: {:?}",
        direct.problems
    );
    for suite in litmus::SUITES {
        assert!(
            direct
                .passed()
                .iter()
                .any(|id| id.starts_with(&format!("{suite}/"))),
            "litmus direct: nothing of {suite} passed: {direct}"
        );
    }
    let same = run_litmus(Kind::SamePaths);
    assert_litmus(&direct, &same, Kind::SamePaths);
    if !relocation_supported() {
        eprintln!("litmus: {NOT_WIRED}");
        return;
    }
    let relocated = run_litmus(Kind::Relocated);
    assert_litmus(&direct, &relocated, Kind::Relocated);
    let gzipped = run_litmus(Kind::RelocatedGzip);
    assert_litmus(&direct, &gzipped, Kind::RelocatedGzip);
}

// === svn ===

/// Runs the svn scenario on a fresh `kind` setup and asserts every step.
fn svn_scenario(kind: Kind) {
    let setup = Setup::start(kind);
    let work = Scratch::new("svn");
    let steps = svn::scenario(&setup.svn_url(), work.path());
    assert_all("svn", &steps, &setup);
}

#[test]
fn svn_client_scenario_through_the_proxy() {
    if !installed("svn", &svn::NEEDS) {
        return;
    }
    svn_scenario(Kind::Direct);
    svn_scenario(Kind::SamePaths);
    if !relocation_supported() {
        eprintln!("svn: {NOT_WIRED}");
        return;
    }
    svn_scenario(Kind::Relocated);
}

// === curl probes ===

#[test]
fn curl_probes_see_only_public_urls() {
    if !installed("curl probes", &probes::NEEDS) {
        return;
    }
    for kind in [Kind::Direct, Kind::SamePaths] {
        let setup = Setup::start(kind);
        assert_all("probes", &probes::run(&setup), &setup);
    }
    if !relocation_supported() {
        eprintln!("probes: {NOT_WIRED}");
        return;
    }
    let setup = Setup::start(Kind::Relocated);
    assert_all("probes", &probes::run(&setup), &setup);
}

/// Prints the score and asserts that every check passed.
fn assert_all(client: &str, checks: &[Check], setup: &Setup) {
    let label = setup.kind.label();
    eprintln!("{client} {label}: {} at {}", score(checks), setup.authority);
    let failed = failures(checks);
    assert!(
        failed.is_empty(),
        "{client} {label}: {} passed; failed:\n{}\napache log:\n{}",
        score(checks),
        failed.join("\n"),
        log_tail(setup)
    );
}
