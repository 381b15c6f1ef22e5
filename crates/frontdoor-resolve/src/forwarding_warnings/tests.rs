//! The warnings' rate limit (paused time) and text.

use std::{io, net::IpAddr, sync::Arc, time::Duration};

use frontdoor_core::ConnInfo;
use http::Request;
use parking_lot::Mutex;
use tracing_subscriber::fmt::MakeWriter;

use super::ForwardingWarnings;
use crate::{ForwardedResolver, Resolver};

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

impl Captured {
    /// The lines written since the last call.
    fn take(&self) -> Vec<String> {
        let bytes = std::mem::take(&mut *self.0.lock());
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// What the resolver answers a request from `peer` with `headers` (besides a `Host`).
fn resolve(resolver: &ForwardedResolver, peer: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = Request::get("/").header("host", "internal:8080");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let mut req = req.body(()).unwrap();
    req.extensions_mut().insert(ConnInfo::new(
        "10.0.0.100:8080".parse().unwrap(),
        format!("{peer}:40000").parse().unwrap(),
    ));
    match resolver.resolve(&req.into_parts().0) {
        Ok(_) => 200,
        Err(e) => e.status().as_u16(),
    }
}

const BAD_FORWARDED: (&str, &str) = ("forwarded", "host=a:8443");

fn warning(peer: &str, header: &str, reason: &str) -> String {
    format!(
        " WARN frontdoor_resolve::forwarding_warnings: a trusted proxy sent a malformed \
         {header} header: its request is answered 400 (warned once per peer per minute) \
         peer={peer} header=\"{header}\" reason={reason}"
    )
}

/// One warning per peer per minute, naming the header and why; the 400 every time.
#[tokio::test(start_paused = true)]
async fn a_trusted_peer_is_warned_about_once_a_minute() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .without_time()
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let resolver = ForwardedResolver::try_new(["10.0.0.0/8"]).unwrap();
    let forwarded = warning(
        "10.0.0.1",
        "forwarded",
        "invalid forwarded header at byte 6: expected ';' or ','",
    );

    assert_eq!(resolve(&resolver, "10.0.0.1", &[BAD_FORWARDED]), 400);
    assert_eq!(logs.take(), std::slice::from_ref(&forwarded));
    assert_eq!(resolve(&resolver, "10.0.0.1", &[BAD_FORWARDED]), 400);
    assert_eq!(logs.take(), Vec::<String>::new(), "within the minute");

    // Another peer, another header: warned about at once. A clone shares the peers.
    let clone = resolver.clone();
    assert_eq!(
        resolve(&clone, "10.0.0.2", &[("x-forwarded-port", "http")]),
        400
    );
    assert_eq!(
        logs.take(),
        [warning(
            "10.0.0.2",
            "x-forwarded-port",
            "invalid x-forwarded-port: invalid digit found in string"
        )]
    );
    assert_eq!(resolve(&clone, "10.0.0.1", &[BAD_FORWARDED]), 400);
    assert_eq!(logs.take(), Vec::<String>::new());

    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(resolve(&resolver, "10.0.0.1", &[BAD_FORWARDED]), 400);
    assert_eq!(logs.take(), Vec::<String>::new(), "after 59 s");
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(resolve(&resolver, "10.0.0.1", &[BAD_FORWARDED]), 400);
    assert_eq!(logs.take(), [forwarded], "after a minute");

    // Not a forwarding header: a 400 for the request's own host, no warning; an
    // untrusted peer's forwarding headers are ignored.
    assert_eq!(
        resolve(&resolver, "10.0.0.3", &[("host", "second.example")]),
        400
    );
    assert_eq!(resolve(&resolver, "192.0.2.1", &[BAD_FORWARDED]), 200);
    assert_eq!(logs.take(), Vec::<String>::new());
}

/// Resolvers given one value warn once over them all (one per worker).
#[tokio::test(start_paused = true)]
async fn resolvers_sharing_warnings_warn_once() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let shared = ForwardingWarnings::new();
    let workers = [1, 2].map(|_| {
        ForwardedResolver::try_new(["10.0.0.0/8"])
            .unwrap()
            .warnings(shared.clone())
    });
    for worker in &workers {
        assert_eq!(resolve(worker, "10.0.0.1", &[BAD_FORWARDED]), 400);
    }
    assert_eq!(logs.take().len(), 1);
    // Separate resolvers do not share.
    let alone = ForwardedResolver::try_new(["10.0.0.0/8"]).unwrap();
    assert_eq!(resolve(&alone, "10.0.0.1", &[BAD_FORWARDED]), 400);
    assert_eq!(logs.take().len(), 1);
}

/// At most `cap` peers are remembered; past it the one warned about longest ago is
/// forgotten, and expired peers are forgotten as time passes.
#[tokio::test(start_paused = true)]
async fn the_peers_remembered_are_bounded() {
    let warnings = ForwardingWarnings::with_limits(Duration::from_secs(60), 3);
    let peer = |n: u8| IpAddr::from([10, 0, 0, n]);
    let now = tokio::time::Instant::now;
    for n in 1..=3 {
        assert!(warnings.first_in_interval(peer(n), now()));
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    assert_eq!(warnings.remembered(), 3);
    assert!(!warnings.first_in_interval(peer(1), now()));
    // A fourth peer: the first is forgotten, and warned about again.
    assert!(warnings.first_in_interval(peer(4), now()));
    assert_eq!(warnings.remembered(), 3);
    assert!(!warnings.first_in_interval(peer(2), now()));
    assert!(warnings.first_in_interval(peer(1), now()));
    assert_eq!(warnings.remembered(), 3);
    // A minute on, every one of them has expired.
    tokio::time::advance(Duration::from_secs(60)).await;
    assert!(warnings.first_in_interval(peer(9), now()));
    assert_eq!(warnings.remembered(), 1);

    // The default bound.
    let warnings = ForwardingWarnings::new();
    for n in 0..=super::MAX_PEERS {
        let ip = IpAddr::from(std::net::Ipv6Addr::from(u128::try_from(n).unwrap()));
        assert!(warnings.first_in_interval(ip, now()));
    }
    assert_eq!(warnings.remembered(), super::MAX_PEERS);
}

#[test]
fn forwarding_warnings_are_send_sync_clone() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<ForwardingWarnings>();
    shareable::<ForwardedResolver>();
}
