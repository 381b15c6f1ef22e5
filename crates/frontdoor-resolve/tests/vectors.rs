//! Spec 1.3.5 resolver vectors R1..R31, in compat (legacy) and strict modes.
//!
//! WSGI environ mapping: `SERVER_NAME=srv` is the configured server name,
//! `SERVER_PORT=8000` the connection's local port, `HTTPS`/`wsgi.url_scheme` the
//! connection's TLS flag, `REQUEST_URI` the request target, `HTTP_*` the headers.
//! "XFF" is `X-Forwarded-For: 1.2.3.4`.
//!
//! Strict mode runs each vector twice: from an untrusted peer (forwarding headers
//! ignored, identical to `DirectResolver`) and from a trusted proxy in `10.0.0.0/8`.
//! Spec 4.8 lists R4, R5, R12 and R15..R24 as flipping; they differ below.
#![allow(clippy::unwrap_used, reason = "tests")]

mod support;

use frontdoor_core::Schemes;
use frontdoor_resolve::{
    ByScheme, DirectResolver, ForwardedResolver, ResolveLayer, TrustAllForwardedHeaders,
};
use support::{resolve, Req, TRUSTED};

struct Vector {
    id: &'static str,
    req: Req,
    /// WFront 0.4 `default_resolver`.
    default: &'static str,
    /// WFront 0.4 `modproxy_resolver`.
    modproxy: &'static str,
    /// Strict, untrusted peer.
    untrusted: &'static str,
    /// Strict, trusted proxy peer.
    trusted: &'static str,
}

fn xff(req: Req) -> Req {
    req.header("x-forwarded-for", "1.2.3.4")
}

#[allow(clippy::too_many_lines, reason = "one table")]
fn vectors() -> Vec<Vector> {
    let r = Req::new;
    let v = |id, req, default, modproxy, untrusted, trusted| Vector {
        id,
        req,
        default,
        modproxy,
        untrusted,
        trusted,
    };
    vec![
        v(
            "R1",
            r("/"),
            "srv:8000:/",
            "srv:8000:/",
            "srv:8000:/",
            "srv:8000:/",
        ),
        v(
            "R2",
            r("/").host("example.com"),
            "example.com:80:/",
            "example.com:80:/",
            "example.com:80:/",
            "example.com:80:/",
        ),
        v(
            "R3",
            r("/").host("example.com:8080"),
            "example.com:8080:/",
            "example.com:8080:/",
            "example.com:8080:/",
            "example.com:8080:/",
        ),
        // Flips: host normalised.
        v(
            "R4",
            r("/").host("Example.COM"),
            "Example.COM:80:/",
            "Example.COM:80:/",
            "example.com:80:/",
            "example.com:80:/",
        ),
        // Flips: an empty Host is missing (S13).
        v(
            "R5",
            r("/").host(""),
            ":80:/",
            ":80:/",
            "srv:8000:/",
            "srv:8000:/",
        ),
        // R6, R7, R10, R26: the connection is TLS.
        v(
            "R6/R7/R10/R26",
            r("/").host("example.com").tls(),
            "example.com:443:/",
            "example.com:443:/",
            "example.com:443:/",
            "example.com:443:/",
        ),
        // R8, R9: not a TLS connection (only the TLS flag exists in `http`).
        v(
            "R8/R9",
            r("/").host("example.com"),
            "example.com:80:/",
            "example.com:80:/",
            "example.com:80:/",
            "example.com:80:/",
        ),
        v(
            "R11",
            r("/app/x").host("example.com"),
            "example.com:80:/app/x",
            "example.com:80:/app/x",
            "example.com:80:/app/x",
            "example.com:80:/app/x",
        ),
        // Flips: the query is never part of the path.
        v(
            "R12",
            r("/a/b?q=1").host("example.com"),
            "example.com:80:/a/b?q=1",
            "example.com:80:/a/b?q=1",
            "example.com:80:/a/b",
            "example.com:80:/a/b",
        ),
        // R13 (`REQUEST_URI=''`) cannot be expressed: an HTTP target is never empty.
        // R14: no XFF. A trusted proxy's X-Forwarded-Port is honoured in strict mode
        // (trust comes from the peer, not from the presence of XFF).
        v(
            "R14",
            r("/")
                .host("example.com")
                .header("x-forwarded-port", "8443"),
            "example.com:80:/",
            "example.com:80:/",
            "example.com:80:/",
            "example.com:8443:/",
        ),
        v(
            "R15",
            xff(r("/").host("internal:5000")),
            "internal:5000:/",
            "srv:80:/",
            "internal:5000:/",
            "internal:5000:/",
        ),
        v(
            "R16",
            xff(r("/").host("internal")),
            "internal:80:/",
            "srv:80:/",
            "internal:80:/",
            "internal:80:/",
        ),
        // S1: an untrusted client cannot pick the virtual host.
        v(
            "R17",
            xff(r("/")
                .host("internal")
                .header("x-forwarded-host", "public.com")),
            "public.com:80:/",
            "public.com:80:/",
            "internal:80:/",
            "public.com:80:/",
        ),
        v(
            "R18",
            xff(r("/").header("x-forwarded-host", "public.com:444")),
            "public.com:444:/",
            "public.com:444:/",
            "srv:8000:/",
            "public.com:444:/",
        ),
        v(
            "R19",
            xff(r("/")
                .header("x-forwarded-host", "public.com")
                .header("x-forwarded-port", "443")),
            "public.com:443:/",
            "public.com:443:/",
            "srv:8000:/",
            "public.com:443:/",
        ),
        // Comma lists are parsed; the nearest hop's (right-most) value is taken.
        v(
            "R20",
            r("/")
                .header("x-forwarded-for", "")
                .header("x-forwarded-host", "a.com, b.com"),
            "a.com, b.com:80:/",
            "a.com, b.com:80:/",
            "srv:8000:/",
            "b.com:80:/",
        ),
        v(
            "R21",
            xff(r("/").header("x-forwarded-server", "fwd.server")),
            "fwd.server:80:/",
            "fwd.server:80:/",
            "srv:8000:/",
            "fwd.server:80:/",
        ),
        v(
            "R22",
            xff(r("/")
                .host("internal")
                .header("x-forwarded-server", "fwd.server")),
            "internal:80:/",
            "fwd.server:80:/",
            "internal:80:/",
            "internal:80:/",
        ),
        v(
            "R23",
            xff(r("/")),
            "srv:80:/",
            "srv:80:/",
            "srv:8000:/",
            "srv:8000:/",
        ),
        // Strict: no forwarded proto, so the server-name fallback keeps the local port
        // and the connection's scheme (the forwarded-proto fix is tested below).
        v(
            "R24",
            xff(r("/")).tls(),
            "srv:80:/",
            "srv:80:/",
            "srv:8000:/",
            "srv:8000:/",
        ),
        // Legacy deviation: 0.4 gave `[::1]:/` (no port), not representable.
        v(
            "R25a",
            r("/").host("[::1]"),
            "[::1]:80:/",
            "[::1]:80:/",
            "[::1]:80:/",
            "[::1]:80:/",
        ),
        v(
            "R25b",
            r("/").host("[::1]:8080"),
            "[::1]:8080:/",
            "[::1]:8080:/",
            "[::1]:8080:/",
            "[::1]:8080:/",
        ),
        // R27 (no PATH_INFO) cannot be expressed: `uri().path()` always exists.
        v(
            "R28",
            r("/"),
            "srv:8000:/",
            "srv:8000:/",
            "srv:8000:/",
            "srv:8000:/",
        ),
    ]
}

fn strict() -> ResolveLayer<ForwardedResolver> {
    ResolveLayer::new(
        ForwardedResolver::try_new(["10.0.0.0/8"])
            .unwrap()
            .try_server_name("srv")
            .unwrap(),
    )
}

#[tokio::test(flavor = "current_thread")]
async fn legacy_presets_reproduce_wfront_04() {
    let default = ResolveLayer::new(TrustAllForwardedHeaders::wfront_default().server_name("srv"));
    let modproxy =
        ResolveLayer::new(TrustAllForwardedHeaders::wfront_modproxy().server_name("srv"));
    for v in vectors() {
        assert_eq!(
            resolve(&default, &v.req).await,
            v.default,
            "{} default",
            v.id
        );
        assert_eq!(
            resolve(&modproxy, &v.req).await,
            v.modproxy,
            "{} modproxy",
            v.id
        );
        // Legacy trusts everyone: the peer makes no difference.
        let from_proxy = v.req.clone().peer(TRUSTED);
        assert_eq!(resolve(&default, &from_proxy).await, v.default, "{}", v.id);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn strict_resolvers_produce_fixed_outputs() {
    let forwarded = strict();
    let direct = ResolveLayer::new(DirectResolver::new().try_server_name("srv").unwrap());
    for v in vectors() {
        assert_eq!(
            resolve(&forwarded, &v.req).await,
            v.untrusted,
            "{} untrusted",
            v.id
        );
        assert_eq!(
            resolve(&direct, &v.req).await,
            v.untrusted,
            "{} direct",
            v.id
        );
        let from_proxy = v.req.clone().peer(TRUSTED);
        assert_eq!(
            resolve(&forwarded, &from_proxy).await,
            v.trusted,
            "{} trusted",
            v.id
        );
        // The direct resolver ignores forwarding headers whoever sends them.
        assert_eq!(
            resolve(&direct, &from_proxy).await,
            v.untrusted,
            "{} direct/proxy",
            v.id
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn r29_no_server_name_is_400_not_a_crash() {
    let req = xff(Req::new("/"));
    let legacy = ResolveLayer::new(TrustAllForwardedHeaders::wfront_default());
    assert_eq!(resolve(&legacy, &req).await, "400");
    let strict = ResolveLayer::new(ForwardedResolver::try_new(["10.0.0.0/8"]).unwrap());
    assert_eq!(resolve(&strict, &req).await, "400");
    assert_eq!(resolve(&strict, &req.clone().peer(TRUSTED)).await, "400");
    assert_eq!(resolve(&ResolveLayer::direct(), &req).await, "400");
}

#[test]
fn r30_schemes_by_port() {
    let schemes = Schemes::empty()
        .with("http", [80, 8000])
        .with("https", [443])
        .with("alt", [8080]);
    let by = ByScheme::new(DirectResolver::new(), schemes);
    let table = [(80, "http"), (8000, "http"), (443, "https"), (8080, "alt")];
    for (port, label) in table {
        assert_eq!(by.label_of(port).map(|l| &**l), Some(label), "{port}");
        assert_eq!(by.schemes().label_of(port), Some(label), "{port}");
    }
    assert_eq!(by.label_of(8443), None);
}

#[tokio::test(flavor = "current_thread")]
async fn r31_by_scheme_label_is_substituted_in_strict_mode() {
    let schemes = Schemes::empty()
        .with("http", [80, 8000])
        .with("https", [443])
        .with("alt", [8080]);
    let req = Req::new("/").host("h:8000");
    let strict = ResolveLayer::new(ByScheme::new(strict_resolver(), schemes.clone()));
    assert_eq!(resolve(&strict, &req).await, "h:http:/");
    let seen = support::run(&strict, req.build()).await.unwrap();
    assert_eq!(seen.resolved.port, 8000, "the numeric port is kept");
    assert_eq!(resolve(&strict, &Req::new("/").host("h:9")).await, "h:9:/");
    // Compat: 0.4 discarded the label; the legacy preset is used without ByScheme.
    let legacy = ResolveLayer::new(TrustAllForwardedHeaders::wfront_default().server_name("srv"));
    assert_eq!(resolve(&legacy, &req).await, "h:8000:/");
    // Default table: http = 80, https = 443; a trusted proxy's proto counts.
    let default = ResolveLayer::new(ByScheme::new(strict_resolver(), Schemes::new()));
    let tls = Req::new("/x")
        .peer(TRUSTED)
        .header("x-forwarded-host", "www.example.com")
        .header("x-forwarded-proto", "https");
    assert_eq!(resolve(&default, &tls).await, "www.example.com:https:/x");
}

fn strict_resolver() -> ForwardedResolver {
    ForwardedResolver::try_new(["10.0.0.0/8"])
        .unwrap()
        .try_server_name("srv")
        .unwrap()
}
