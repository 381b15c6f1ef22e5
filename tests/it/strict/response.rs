//! An upstream response with both `Content-Length` and `Transfer-Encoding` has no
//! trustworthy length: it is a 502, never relayed truncated to the `Content-Length`.

use bytes::Bytes;
use frontdoor_deproxy::{Deproxy, Fault, Reply, ServerConnector};
use http::Request;

use crate::stack::support::{front, CLIENT_BOUND};

async fn through(raw: &'static str) -> frontdoor_deproxy::MessageChain {
    let d = Deproxy::new();
    let origin = d
        .endpoint()
        .connector(ServerConnector::Raw)
        .handler(move |_req: Request<Bytes>| async move {
            Reply::text(200, "").fault(Fault::Raw(Bytes::from_static(raw.as_bytes())))
        })
        .start()
        .await
        .unwrap();
    let front = front(origin.addr()).await;
    d.make_request(front.at("/r"))
        .timeout(CLIENT_BOUND)
        .send()
        .await
}

#[tokio::test]
async fn an_upstream_response_with_content_length_and_transfer_encoding_is_a_502() {
    for raw in [
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ] {
        let mc = through(raw).await;
        assert_eq!(mc.status(), Some(502), "{raw:?}: {mc:#?}");
        let res = mc.received_response.as_ref().unwrap();
        assert_ne!(res.body(), "hel", "{raw:?}");
    }
}

#[tokio::test]
async fn a_clean_chunked_upstream_response_still_streams() {
    let mc =
        through("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
            .await;
    assert_eq!(mc.status(), Some(200), "{mc:#?}");
    assert_eq!(mc.received_response.as_ref().unwrap().body(), "hello");
}
