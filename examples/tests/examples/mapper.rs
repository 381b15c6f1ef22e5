//! Example 8: proxylet's demo mapper with frontdoor's `Mapper`, end to end.

use http::StatusCode;

use crate::{
    client::{get, loopback, request},
    mapper,
};

#[tokio::test]
async fn the_demo_mapper_sends_each_path_to_its_site_and_relocates_back() {
    let sites = mapper::start_sites().await.unwrap();
    let (listener, addr) = loopback().await;
    tokio::spawn(async move { mapper::run(listener, sites).await.unwrap() });
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

    // The Subversion relocation, from this mapping's own layer.
    let res = request("OPTIONS", addr, "/svn/", &host).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("svn-repository-root"), "/svn");
    assert_eq!(res.header("svn-me-resource"), "/svn/!svn/me");
    assert_eq!(
        res.header("svn-rev-stub"),
        "http://localhost:8080/svn/!svn/rev"
    );

    // Segment boundaries, and proxylet's `None`: 404.
    assert_eq!(
        get(addr, "/rfkx", &host).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(addr, "/other", &host).await.status,
        StatusCode::NOT_FOUND
    );
}
