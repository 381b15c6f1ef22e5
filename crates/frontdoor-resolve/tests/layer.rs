//! The layer's contract (extensions, 400s, URI rewrite) and the spoofing tests
//! (spec 4.7 S1, S5, S13; peers 3.1).
#![allow(clippy::unwrap_used, reason = "tests")]

mod support;

use frontdoor_core::{
    BoxError, CanonicalOptions, EncodedSlash, Error, HostSource, PeerTrust, Resolved,
};
use frontdoor_resolve::{
    ByScheme, DirectResolver, ForwardedResolver, ForwardedSource, Resolve, ResolveLayer,
    ResponseFuture,
};
use http::{request::Parts, uri::Scheme, Request, Response};
use http_body_util::BodyExt;
use support::{resolve, run, Req, TRUSTED, UNTRUSTED};
use tower::{service_fn, util::BoxCloneSyncService, Layer, ServiceExt};

fn forwarded() -> ResolveLayer<ForwardedResolver> {
    ResolveLayer::new(
        ForwardedResolver::try_new(["10.0.0.0/8", "fd00::/8"])
            .unwrap()
            .try_server_name("srv")
            .unwrap(),
    )
}

fn ip(s: &str) -> std::net::IpAddr {
    s.parse().unwrap()
}

// === spoofing ===

#[tokio::test(flavor = "current_thread")]
async fn untrusted_peer_cannot_pick_the_host() {
    let req = Req::new("/admin")
        .host("good.example")
        .header("x-forwarded-for", "10.0.0.1")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-port", "443")
        .header("forwarded", "for=10.0.0.1;host=evil.example;proto=https");
    let seen = run(&forwarded(), req.build()).await.unwrap();
    assert_eq!(seen.resolved.to_string(), "good.example:80:/admin");
    assert_eq!(seen.resolved.source, HostSource::Host);
    assert_eq!(seen.resolved.scheme, Scheme::HTTP);
    assert_eq!(seen.trust, Some(PeerTrust::new(false, ip("203.0.113.9"))));
    // Left in place by default, removed on request.
    assert!(seen.headers.contains_key("x-forwarded-host"));
    let strip = forwarded().strip_untrusted_forwarded(true);
    let seen = run(&strip, req.build()).await.unwrap();
    for name in frontdoor_resolve::FORWARDING_HEADERS {
        assert!(!seen.headers.contains_key(&name), "{name}");
    }
}

/// `X-Real-IP` and the other client-address, URL and method override headers are on
/// the list: removed from untrusted peers on request, kept from trusted ones, and never
/// read by the resolver (the client is the peer, or the `X-Forwarded-For` walk's).
#[tokio::test(flavor = "current_thread")]
async fn client_address_and_override_headers_are_never_read() {
    let extra = [
        ("x-real-ip", "192.0.2.66"),
        ("true-client-ip", "192.0.2.67"),
        ("x-original-url", "/admin"),
        ("x-http-method-override", "DELETE"),
    ];
    let strip = forwarded().strip_untrusted_forwarded(true);
    for peer in [UNTRUSTED, TRUSTED] {
        let mut req = Req::new("/").peer(peer).host("app.example");
        for (name, value) in extra {
            req = req.header(name, value);
        }
        let seen = run(&strip, req.build()).await.unwrap();
        let trusted = peer == TRUSTED;
        assert_eq!(seen.resolved.to_string(), "app.example:80:/");
        assert_eq!(
            seen.trust,
            Some(PeerTrust::new(trusted, ip(peer.split(':').next().unwrap())))
        );
        for (name, value) in extra {
            let kept = seen.headers.get(name).map(|v| v.to_str().unwrap());
            assert_eq!(kept, trusted.then_some(value), "{name} from {peer}");
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn trusted_peer_forwarded_host_is_honoured() {
    let req = Req::new("/")
        .peer(TRUSTED)
        .host("backend:8080")
        .header("x-forwarded-for", "192.0.2.7")
        .header("x-forwarded-host", "Shop.Example.com.")
        .header("x-forwarded-proto", "https");
    let strip = forwarded().strip_untrusted_forwarded(true);
    let seen = run(&strip, req.build()).await.unwrap();
    assert_eq!(seen.resolved.to_string(), "shop.example.com:443:/");
    assert_eq!(seen.resolved.source, HostSource::XForwardedHost);
    assert_eq!(seen.resolved.scheme, Scheme::HTTPS);
    assert_eq!(seen.trust, Some(PeerTrust::new(true, ip("192.0.2.7"))));
    assert!(
        seen.headers.contains_key("x-forwarded-host"),
        "kept: trusted"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn client_supplied_leftmost_for_never_wins() {
    let layer = forwarded();
    let table: &[(&str, &[(&str, &str)], &str, &str)] = &[
        // The client prepends its own element; the trusted proxy appends the real one.
        (
            "forwarded: proxy element wins",
            &[(
                "forwarded",
                "for=6.6.6.6;host=evil.example, for=192.0.2.7;host=good.example",
            )],
            "good.example:80:/",
            "192.0.2.7",
        ),
        // The client forges a trusted `for`; the proxy's element has no host: the
        // forged host is left of an untrusted hop and is discarded.
        (
            "forwarded: forged trusted hop",
            &[(
                "forwarded",
                "for=10.0.0.5;host=evil.example;proto=https, for=192.0.2.7",
            )],
            "app.example:80:/",
            "192.0.2.7",
        ),
        // Two trusted hops: the walk skips 10.0.0.3 and stops at the client.
        (
            "forwarded: two hops, several lines",
            &[
                ("forwarded", r#"for=6.6.6.6;host=evil.example"#),
                (
                    "forwarded",
                    r#"for="[2001:db8::7]:4711";host=www.example.com"#,
                ),
                ("forwarded", "for=10.0.0.3"),
            ],
            "www.example.com:80:/",
            "2001:db8::7",
        ),
        // Obfuscated client: the client is the hop that vouches for it.
        (
            "forwarded: obfuscated",
            &[("forwarded", r#"for="_hidden";host=www.example.com"#)],
            "www.example.com:80:/",
            "10.0.0.1",
        ),
        (
            "forwarded: unknown behind a second trusted hop",
            &[("forwarded", "for=unknown, for=10.0.0.4")],
            "app.example:80:/",
            "10.0.0.4",
        ),
        (
            "forwarded: every hop trusted",
            &[("forwarded", "for=10.0.0.9, for=10.0.0.4")],
            "app.example:80:/",
            "10.0.0.9",
        ),
        (
            "xff: right-most untrusted",
            &[("x-forwarded-for", "10.0.0.9, 6.6.6.6, 192.0.2.7")],
            "app.example:80:/",
            "192.0.2.7",
        ),
        (
            "xff: skip trusted hops, several lines, ports",
            &[
                ("x-forwarded-for", "6.6.6.6"),
                ("x-forwarded-for", "192.0.2.7:5555, [fd00::1]:80"),
                ("x-forwarded-for", "10.0.0.3"),
            ],
            "app.example:80:/",
            "192.0.2.7",
        ),
        (
            "xff: garbage stops the walk at the last trusted hop",
            &[("x-forwarded-for", "6.6.6.6, garbage, 10.0.0.3")],
            "app.example:80:/",
            "10.0.0.3",
        ),
        (
            "xff: every hop trusted",
            &[("x-forwarded-for", "10.0.0.9,10.0.0.3")],
            "app.example:80:/",
            "10.0.0.9",
        ),
        (
            "forwarded wins over xff by default",
            &[
                ("x-forwarded-for", "6.6.6.6"),
                ("forwarded", "for=192.0.2.7"),
            ],
            "app.example:80:/",
            "192.0.2.7",
        ),
    ];
    for (name, headers, want, client) in table {
        let mut req = Req::new("/").peer(TRUSTED).host("app.example");
        for (n, v) in *headers {
            req = req.header(n, v);
        }
        let seen = run(&layer, req.build()).await.unwrap();
        assert_eq!(seen.resolved.to_string(), *want, "{name}");
        assert_eq!(seen.trust, Some(PeerTrust::new(true, ip(client))), "{name}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn forwarded_proto_sets_the_default_port() {
    // The R24 fix: a TLS-terminating proxy's proto decides the default port.
    let layer = forwarded();
    let cases = [
        (
            "forwarded",
            r#"proto=https;host=a.example"#,
            "a.example:443:/",
        ),
        (
            "forwarded",
            r#"proto=HTTPS;host="a.example:8443""#,
            "a.example:8443:/",
        ),
        ("x-forwarded-proto", "http, https", "app.example:443:/"),
        ("x-forwarded-proto", "gopher", "app.example:80:/"),
    ];
    for (name, value, want) in cases {
        let req = Req::new("/")
            .peer(TRUSTED)
            .host("app.example")
            .header(name, value);
        assert_eq!(resolve(&layer, &req).await, want, "{name}: {value}");
    }
    // Server-name fallback with a forwarded proto: that proto's default port.
    let req = Req::new("/")
        .peer(TRUSTED)
        .header("x-forwarded-proto", "https");
    assert_eq!(resolve(&layer, &req).await, "srv:443:/");
}

#[tokio::test(flavor = "current_thread")]
async fn sources_are_configurable() {
    let only_xfh = ResolveLayer::new(
        ForwardedResolver::try_new(["10.0.0.0/8"])
            .unwrap()
            .sources([ForwardedSource::XForwardedHost, ForwardedSource::Forwarded]),
    );
    let req = Req::new("/")
        .peer(TRUSTED)
        .host("app.example")
        .header("forwarded", "host=fwd.example;for=192.0.2.7")
        .header("x-forwarded-host", "xfh.example")
        .header("x-forwarded-for", "198.51.100.1")
        .header("x-forwarded-proto", "https");
    let seen = run(&only_xfh, req.build()).await.unwrap();
    // XFH first, proto from `Forwarded` (absent), XFP not honoured, client from
    // `Forwarded`, XFF not honoured.
    assert_eq!(seen.resolved.to_string(), "xfh.example:80:/");
    assert_eq!(seen.trust, Some(PeerTrust::new(true, ip("192.0.2.7"))));
    let none = ResolveLayer::new(
        ForwardedResolver::try_new(["10.0.0.0/8"])
            .unwrap()
            .sources([]),
    );
    let seen = run(&none, req.build()).await.unwrap();
    assert_eq!(seen.resolved.to_string(), "app.example:80:/");
    assert_eq!(seen.trust, Some(PeerTrust::new(true, ip("10.0.0.1"))));
}

#[tokio::test(flavor = "current_thread")]
async fn bad_forwarding_data_from_a_trusted_peer_is_400() {
    let layer = forwarded();
    let cases = [
        ("forwarded", "for=1.2.3.4 junk"),
        ("forwarded", "host=\"a.com, b.com\""),
        ("x-forwarded-host", "evil.example/x"),
        ("x-forwarded-port", "http"),
        ("x-forwarded-server", "a b"),
    ];
    for (name, value) in cases {
        let req = Req::new("/").host("app.example").header(name, value);
        // Ignored from an untrusted peer...
        assert_eq!(
            resolve(&layer, &req).await,
            "app.example:80:/",
            "{name}: {value}"
        );
        // ...rejected from a trusted one.
        assert_eq!(
            resolve(&layer, &req.peer(TRUSTED)).await,
            "400",
            "{name}: {value}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn ipv4_mapped_peers_and_bare_addresses() {
    let layer = ResolveLayer::new(ForwardedResolver::try_new(["192.0.2.1"]).unwrap());
    let req = Req::new("/")
        .peer("[::ffff:192.0.2.1]:1")
        .host("app.example")
        .header("x-forwarded-host", "public.example");
    assert_eq!(resolve(&layer, &req).await, "public.example:80:/");
    let resolver = ForwardedResolver::try_new(["10.0.0.0/8"]).unwrap();
    assert!(resolver.is_trusted(ip("::ffff:10.1.2.3")));
    assert!(!resolver.is_trusted(ip("11.0.0.1")));
    let err = ForwardedResolver::try_new(["10.0.0.0/33"]).unwrap_err();
    assert_eq!(err.key(), "trusted_proxies");
    assert_eq!(err.value(), "10.0.0.0/33");
}

// === host rules (S5, S13, RFC 9112) ===

#[tokio::test(flavor = "current_thread")]
async fn bad_hosts_are_400() {
    let layer = forwarded();
    let bad: &[Req] = &[
        Req::new("/").host("a").header("host", "b"),
        Req::new("/").host("a").header("host", "a"),
        Req::new("/").host("a b"),
        Req::new("/").host("a.com, b.com"),
        Req::new("/").host("h:99999"),
        Req::new("/").host("[::1"),
        Req::new("http://a.example/").host("b.example"),
        Req::new("http://a.example:81/").host("a.example"),
    ];
    for req in bad {
        assert_eq!(resolve(&layer, req).await, "400", "{req:?}");
        assert_eq!(
            resolve(&ResolveLayer::direct(), req).await,
            "400",
            "{req:?}"
        );
    }
    // The rejection is a plain 400 with a short body.
    let svc = layer.layer(service_fn(|_req: Request<String>| async {
        Ok::<_, BoxError>(Response::new(String::new()))
    }));
    let res = svc.oneshot(bad[0].build()).await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "Bad Request\n");
}

#[tokio::test(flavor = "current_thread")]
async fn absolute_form_and_h2_authority() {
    let layer = forwarded();
    let seen = run(&layer, Req::new("http://Example.COM/x").build())
        .await
        .unwrap();
    assert_eq!(seen.resolved.to_string(), "example.com:80:/x");
    assert_eq!(seen.resolved.source, HostSource::Authority);
    // Agreeing Host: case, trailing dot and default port do not matter.
    let req = Req::new("http://user@example.com:80/x").host("EXAMPLE.com.");
    assert_eq!(resolve(&layer, &req).await, "example.com:80:/x");
    // Without ConnInfo the scheme is http: the absolute-form scheme (an HTTP/2
    // `:scheme`) is the client's word, never a fact about the connection.
    let req = Req::new("https://[2001:DB8::1]/x").no_conn_info();
    let seen = run(&layer, req.build()).await.unwrap();
    assert_eq!(seen.resolved.to_string(), "[2001:db8::1]:80:/x");
    assert_eq!(seen.resolved.scheme, http::uri::Scheme::HTTP);
    assert_eq!(seen.trust, None, "no peer, no trust decision");
    // With ConnInfo the connection decides: a plaintext client cannot claim https.
    let req = Req::new("https://example.com/x");
    assert_eq!(resolve(&layer, &req).await, "example.com:80:/x");
}

#[tokio::test(flavor = "current_thread")]
async fn fallbacks() {
    // No ConnInfo: the scheme default port.
    let direct = ResolveLayer::new(DirectResolver::new().try_server_name("srv").unwrap());
    assert_eq!(
        resolve(&direct, &Req::new("/").no_conn_info()).await,
        "srv:80:/"
    );
    // A server name with a port overrides the local port.
    let with_port = ResolveLayer::new(DirectResolver::new().try_server_name("SRV.:9000").unwrap());
    assert_eq!(resolve(&with_port, &Req::new("/")).await, "srv:9000:/");
    // TLS connection, no host: the local port.
    assert_eq!(resolve(&direct, &Req::new("/").tls()).await, "srv:8000:/");
    let err = DirectResolver::new().try_server_name("a b").unwrap_err();
    assert_eq!(err.key(), "server_name");
    assert!(DirectResolver::new().try_server_name("").is_err());
}

// === the path ===

#[tokio::test(flavor = "current_thread")]
async fn canonical_path_is_matched_and_forwarded() {
    let layer = ResolveLayer::direct();
    let req = Req::new("/a/./b/../%7Euser//x?q=%2F..&r=/./").host("h");
    let seen = run(&layer, req.build()).await.unwrap();
    assert_eq!(seen.resolved.path, "/a/~user/x");
    assert_eq!(seen.uri, "/a/~user/x?q=%2F..&r=/./", "query byte for byte");
    assert_eq!(
        seen.original.unwrap().0,
        "/a/./b/../%7Euser//x?q=%2F..&r=/./"
    );
    // Already canonical: the URI is untouched.
    let seen = run(&layer, Req::new("/x?y").host("h").build())
        .await
        .unwrap();
    assert_eq!(seen.uri, "/x?y");
    // Bad paths are 400.
    for uri in ["/a%00b", "/a%zz", "/a%2"] {
        assert_eq!(
            resolve(&layer, &Req::new(uri).host("h")).await,
            "400",
            "{uri}"
        );
    }
    let strict = ResolveLayer::direct()
        .canonical_options(CanonicalOptions::new().encoded_slash(EncodedSlash::Reject));
    assert_eq!(resolve(&strict, &Req::new("/a%2Fb").host("h")).await, "400");
    assert_eq!(
        resolve(&layer, &Req::new("/a%2fb").host("h")).await,
        "h:80:/a%2Fb"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn original_uri_is_kept_when_present() {
    let mut req = Req::new("/now").host("h").build();
    req.extensions_mut()
        .insert(frontdoor_core::OriginalUri("/before".parse().unwrap()));
    let seen = run(&ResolveLayer::direct(), req).await.unwrap();
    assert_eq!(seen.original.unwrap().0, "/before");
}

// === custom resolvers ===

#[tokio::test(flavor = "current_thread")]
async fn closures_are_resolvers() {
    let fixed = |parts: &Parts| -> Result<Resolved, Error> {
        if parts.uri.path().starts_with("/deny") {
            return Err(Error::bad_request("denied"));
        }
        Ok(Resolved::new(
            Scheme::HTTP,
            "fixed",
            1,
            parts.uri.path(),
            HostSource::ServerName,
        ))
    };
    let layer = ResolveLayer::new(fixed);
    let seen = run(&layer, Req::new("/a/../b").build()).await.unwrap();
    assert_eq!(seen.resolved.to_string(), "fixed:1:/b");
    assert_eq!(seen.trust, Some(PeerTrust::new(false, ip("203.0.113.9"))));
    assert_eq!(resolve(&layer, &Req::new("/deny")).await, "400");
    let _ = UNTRUSTED;
}

// === contract ===

#[test]
fn public_types_are_send_sync_clone() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    type Inner = BoxCloneSyncService<Request<String>, Response<String>, BoxError>;
    send_sync_clone::<ResolveLayer<DirectResolver>>();
    send_sync_clone::<ResolveLayer<ForwardedResolver>>();
    send_sync_clone::<ResolveLayer<ByScheme<ForwardedResolver>>>();
    send_sync_clone::<ResolveLayer<frontdoor_resolve::TrustAllForwardedHeaders>>();
    send_sync_clone::<Resolve<Inner, ForwardedResolver>>();
    fn send<T: Send>() {}
    send::<ResponseFuture<<Inner as tower::Service<Request<String>>>::Future>>();
}

#[tokio::test(flavor = "current_thread")]
async fn poll_ready_is_delegated() {
    let mut svc = Resolve::new(
        service_fn(|_req: Request<String>| async {
            Ok::<_, BoxError>(Response::new(String::new()))
        }),
        DirectResolver::new(),
    );
    let ready = std::future::poll_fn(|cx| tower::Service::poll_ready(&mut svc, cx)).await;
    assert!(ready.is_ok());
}

#[tokio::test(flavor = "current_thread")]
async fn trusted_x_forwarded_server_is_reported_as_such() {
    // No Host and no X-Forwarded-Host: the trusted proxy's server name is used.
    let req = Req::new("/")
        .peer(TRUSTED)
        .header("x-forwarded-server", "Front.Example");
    let seen = run(&forwarded(), req.build()).await.unwrap();
    assert_eq!(seen.resolved.to_string(), "front.example:80:/");
    assert_eq!(seen.resolved.source, HostSource::XForwardedServer);
}
