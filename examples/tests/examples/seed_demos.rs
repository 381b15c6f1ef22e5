//! Example 7: proxylet's demo mapper and WFront's recipes, end to end.

use http::StatusCode;

use crate::{
    client::{get, loopback, raw, request},
    seed_demos,
};

#[tokio::test]
async fn proxylets_demo_mapper_relocates_each_site() {
    let sites = seed_demos::start_sites().await.unwrap();
    let (listener, addr) = loopback().await;
    tokio::spawn(async move { seed_demos::run_mapper(listener, &sites).await.unwrap() });
    let host = [("host", "localhost:8080")];

    let res = get(addr, "/rfk/", &host).await;
    assert_eq!(res.text(), "rfk's home\n");
    let res = get(addr, "/rfk/blog", &host).await;
    assert_eq!(res.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(res.header("location"), "http://localhost:8080/rfk/blog/");
    assert_eq!(get(addr, "/rfk/blog/", &host).await.text(), "rfk's blog\n");

    let res = get(addr, "/g/search?q=rust", &host).await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert_eq!(
        res.header("location"),
        "http://localhost:8080/g/results?q=rust"
    );
    assert_eq!(
        get(addr, "/g/results?q=rust", &host).await.text(),
        "results for q=rust\n"
    );

    let res = request("OPTIONS", addr, "/svn/", &host).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("svn-repository-root"), "/svn");
    assert_eq!(res.header("svn-me-resource"), "/svn/!svn/me");
    assert_eq!(
        res.header("svn-rev-stub"),
        "http://localhost:8080/svn/!svn/rev"
    );

    // proxylet's mapper returned None: 404.
    assert_eq!(
        get(addr, "/other", &host).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn wfronts_pound_and_mod_proxy_recipes_end_to_end() {
    let (listener, addr) = loopback().await;
    tokio::spawn(async move { seed_demos::run_recipes(listener).await.unwrap() });
    let lines = |host: &str, fwd_port: &str, path_info: &str, script: &str, scheme: &str| {
        format!("HTTP_HOST\t{host}\nHTTP_X_FORWARDED_PORT\t{fwd_port}\nPATH_INFO\t{path_info}\nSCRIPT_NAME\t{script}\nwsgi.url_scheme\t{scheme}\n")
    };
    let host1 = [("host", "host1.domain")];

    // mod_proxy (M30): the marker sets https and port 443 and is stripped.
    let res = get(addr, "/-https/x", &host1).await;
    assert_eq!(res.text(), lines("host1.domain", "443", "/x", "", "https"));
    let res = get(addr, "/-http/x", &host1).await;
    assert_eq!(res.text(), lines("host1.domain", "-", "/x", "", "http"));
    // M31: `/-http` never takes `/-https/...` (segment boundaries), whatever the order.
    let res = get(addr, "/-httpsx", &host1).await;
    assert_eq!(
        res.text(),
        lines("host1.domain", "-", "/-httpsx", "", "http")
    );

    // Pound (E1, E2): a default Host, only when there is none (HTTP/1.0 here).
    let res = raw(addr, "GET /pound/host/a HTTP/1.0\r\n\r\n").await;
    assert!(
        res.ends_with(&lines("host1.domain", "-", "/a", "/pound/host", "http")),
        "{res}"
    );
    let res = get(addr, "/pound/host/a", &[("host", "squiznart")]).await;
    assert_eq!(
        res.text(),
        lines("squiznart", "-", "/a", "/pound/host", "http")
    );
    // Pound (E3, E4): Host from X-Fallback-Host when there is none.
    let res = get(addr, "/pound/fallback/a", &[("host", "foo")]).await;
    assert_eq!(
        res.text(),
        lines("foo", "-", "/a", "/pound/fallback", "http")
    );
    let res = raw(
        addr,
        "GET /pound/fallback/a HTTP/1.0\r\nX-Fallback-Host: squiznart\r\n\r\n",
    )
    .await;
    assert!(
        res.ends_with(&lines("squiznart", "-", "/a", "/pound/fallback", "http")),
        "{res}"
    );
    // Pound (E5): the scheme from X-Scheme.
    let res = get(
        addr,
        "/pound/scheme/a",
        &[("host", "h"), ("x-scheme", "https")],
    )
    .await;
    assert_eq!(res.text(), lines("h", "-", "/a", "/pound/scheme", "https"));
}
