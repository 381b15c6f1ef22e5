//! The misconfiguration warnings that would otherwise be silent: forwarding headers
//! on a request without `ConnInfo` (under `axum::serve`, say), and socket labels
//! without `ConnInfo`. Each is logged once per process, so this is its own test
//! binary and each test triggers only its own warning.
#![allow(clippy::unwrap_used, missing_docs, reason = "test code")]

use std::{io, sync::Arc};

use frontdoor_core::{ConnInfo, Schemes};
use frontdoor_resolve::{ByScheme, DirectResolver, ForwardedResolver, LabelFrom, Resolver};
use http::{request::Parts, Request};
use parking_lot::Mutex;
use tracing_subscriber::fmt::MakeWriter;

/// Log lines written by the test's subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl MakeWriter<'_> for Captured {
    type Writer = Self;

    fn make_writer(&self) -> Self {
        self.clone()
    }
}

/// Runs `f` with a subscriber capturing warnings; returns what was logged.
fn logged(f: impl FnOnce()) -> String {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = logs.0.lock().clone();
    String::from_utf8(bytes).unwrap()
}

fn parts(headers: &[(&str, &str)], conn: Option<ConnInfo>) -> Parts {
    let mut req = Request::get("/").header("host", "internal:8080");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let mut req = req.body(()).unwrap();
    if let Some(conn) = conn {
        req.extensions_mut().insert(conn);
    }
    req.into_parts().0
}

#[test]
fn forwarding_headers_without_conn_info_warn_once_per_process() {
    let resolver = ForwardedResolver::try_new(["127.0.0.1"]).unwrap();
    let forwarded = [("x-forwarded-host", "www.example.com")];
    let loopback = ConnInfo::new(
        "127.0.0.1:8080".parse().unwrap(),
        "127.0.0.1:5000".parse().unwrap(),
    );
    // Headers on the list that the resolver never reads are no cause to warn (and
    // do not use up the one warning).
    let logs = logged(|| {
        let res = resolver
            .resolve(&parts(&[("x-real-ip", "192.0.2.1")], None))
            .unwrap();
        assert_eq!(res.resolved.to_string(), "internal:8080:/");
    });
    assert_eq!(logs, "");
    let logs = logged(|| {
        // No forwarding header: nothing to warn about.
        resolver.resolve(&parts(&[], None)).unwrap();
        // With ConnInfo from the trusted peer: honoured, no warning.
        let res = resolver
            .resolve(&parts(&forwarded, Some(loopback)))
            .unwrap();
        assert_eq!(res.resolved.to_string(), "www.example.com:80:/");
        // Without ConnInfo: ignored (resolved directly), with one warning for three.
        for _ in 0..3 {
            let res = resolver.resolve(&parts(&forwarded, None)).unwrap();
            assert_eq!(res.resolved.to_string(), "internal:8080:/");
            assert_eq!(res.trust, None);
        }
    });
    assert_eq!(
        logs.matches("forwarding headers ignored").count(),
        1,
        "{logs}"
    );
    assert!(logs.contains("WARN"), "{logs}");
    assert!(logs.contains("frontdoor::axum::conn_info"), "{logs}");
}

#[test]
fn socket_labels_without_conn_info_warn_once_per_process() {
    let schemes = Schemes::new().with("admin", [9443]);
    let resolver = ByScheme::new(DirectResolver::new(), schemes).label_from(LabelFrom::Socket);
    let logs = logged(|| {
        for _ in 0..2 {
            let res = resolver.resolve(&parts(&[], None)).unwrap();
            // Falls back to the Host port, which has no label.
            assert_eq!(res.resolved.to_string(), "internal:8080:/");
        }
    });
    assert_eq!(logs.matches("socket is unknown").count(), 1, "{logs}");
}
