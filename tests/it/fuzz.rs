//! The fuzz targets' properties on stable: `fuzz/src/lib.rs` is compiled here as a
//! module and every target runs over its committed seeds (`fuzz/seeds/<target>/`;
//! `serve` and `stack` share `fuzz/seeds/http/`, the smuggling corpus plus a few
//! clean exchanges). Nightly runs the same functions under libFuzzer
//! (`fuzz/README.md`).

#[path = "../../fuzz/src/lib.rs"]
#[allow(
    dead_code,
    unreachable_pub,
    reason = "the fuzz crate's module, compiled here as a test"
)]
mod targets;

use std::path::{Path, PathBuf};

fn seeds_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target)
}

/// Every seed of `dir`, in name order.
fn seeds(dir: &str) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<_> = std::fs::read_dir(seeds_dir(dir))
        .unwrap_or_else(|e| panic!("fuzz/seeds/{dir}: {e}"))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    all.sort();
    assert!(!all.is_empty(), "no seeds in fuzz/seeds/{dir}");
    all
}

/// The `http` seeds: the smuggling corpus (what fits a seed) and clean exchanges.
fn http_seeds() -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<(String, Vec<u8>)> = frontdoor_deproxy::smuggling::corpus()
        .into_iter()
        .filter(|case| case.bytes.len() <= 64 * 1024)
        .map(|case| (format!("smuggling-{}", case.name), case.bytes.to_vec()))
        .collect();
    for (name, bytes) in [
        (
            "clean-pipelined",
            &b"GET /a HTTP/1.1\r\nHost: app.test\r\n\r\nPOST /clean/b HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nX-Path: /c/../d\r\n\r\nhelloPUT /strict/c HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n"[..],
        ),
        (
            "clean-http10",
            b"GET /x HTTP/1.0\r\nConnection: keep-alive\r\nHost: app.test\r\n\r\nGET /y HTTP/1.0\r\n\r\n",
        ),
        (
            "upgrade",
            b"GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nafter",
        ),
        (
            "clean-expect-continue",
            b"PUT /f HTTP/1.1\r\nHost: example\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
        ),
        (
            // WebDAV `Destination` paths for the escaped-slash policy: the `::/strict`
            // route refuses the first four, the default route forwards the last.
            "destination-escaped-slashes",
            b"MOVE /strict/src HTTP/1.1\r\nHost: app.test\r\nDestination: http://app.test/strict/..%2f..%2fsecret\r\n\r\nCOPY /strict/src HTTP/1.1\r\nHost: app.test\r\nDestination: /strict/..%5Csecret\r\n\r\nMOVE /strict/src HTTP/1.1\r\nHost: app.test\r\nDestination: /strict/..;/secret\r\n\r\nMOVE /strict/src HTTP/1.1\r\nHost: app.test\r\nDestination: /strict/a\\b\r\n\r\nMOVE /a HTTP/1.1\r\nHost: app.test\r\nDestination: //app.test/a/..%2Fb?x=%5c#..;\r\n\r\n",
        ),
        (
            "h2-preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
        ),
    ] {
        all.push((name.to_owned(), bytes.to_vec()));
    }
    all.sort();
    all
}

#[test]
fn the_http_seeds_are_the_smuggling_corpus() {
    // FRONTDOOR_WRITE_SEEDS=1 rewrites them after the corpus changed.
    let dir = seeds_dir("http");
    let want = http_seeds();
    if std::env::var_os("FRONTDOOR_WRITE_SEEDS").is_some() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        for (name, bytes) in &want {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    assert_eq!(
        seeds("http"),
        want,
        "fuzz/seeds/http is stale: run with FRONTDOOR_WRITE_SEEDS=1"
    );
}

#[test]
fn pure_targets_hold_on_their_seeds() {
    for (name, bytes) in seeds("path_route") {
        eprintln!("path_route {name}");
        targets::path_route(&bytes);
    }
    for (_, bytes) in seeds("rfc7239") {
        targets::rfc7239(&bytes);
    }
    for (_, bytes) in seeds("host") {
        targets::host(&bytes);
    }
    for (_, bytes) in seeds("cleanup_rules") {
        targets::cleanup_rules(&bytes);
    }
    for (_, bytes) in seeds("config") {
        targets::config(&bytes);
    }
}

#[test]
fn serve_and_stack_hold_on_the_http_seeds() {
    // The targets own their runtimes, so this test is a plain (non-async) test.
    for (name, bytes) in http_seeds() {
        eprintln!("serve {name}");
        targets::serve(&bytes);
        eprintln!("stack {name}");
        targets::stack(&bytes);
    }
}
