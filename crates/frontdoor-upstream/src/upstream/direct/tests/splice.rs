//! Bodies offered for splicing, driven by a sink that reads the upstream's socket
//! with plain reads (the server's sink splices; what the source does is the same).

use std::{
    io::{self, Read as _},
    os::fd::BorrowedFd,
    task::{ready, Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use frontdoor_core::splice::{SpliceFrom, SpliceOffer, SpliceSink};
use http::{Method, Response};
use http_body_util::{BodyExt as _, Collected};

use super::{origin::Action, origin::Origin, request, Body};
use crate::{ProxyError, ProxyErrorKind, Upstream};

/// Collects what it is given; reads at most `max` bytes each time it is asked to
/// move some.
#[derive(Default)]
struct Copying {
    got: Vec<u8>,
}

impl SpliceSink for Copying {
    fn write(&mut self, data: &[u8]) {
        self.got.extend_from_slice(data);
    }

    fn poll_splice(
        &mut self,
        cx: &mut Context<'_>,
        from: &mut dyn SpliceFrom,
        max: u64,
    ) -> Poll<io::Result<u64>> {
        let mut buf = vec![0u8; usize::try_from(max.min(64 * 1024)).unwrap()];
        let n = ready!(from.poll_read_with(cx, &mut |fd: BorrowedFd<'_>| {
            let stream = std::net::TcpStream::from(fd.try_clone_to_owned()?);
            (&stream).read(&mut buf)
        }))?;
        self.got.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n as u64))
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 13 % 241) as u8).collect()
}

fn leak(bytes: Vec<u8>) -> &'static [u8] {
    Box::leak(bytes.into_boxed_slice())
}

fn splicing(origin: &Origin, idle: Duration) -> Upstream {
    Upstream::builder(&format!("http://{}", origin.addr))
        .splice_bodies(true)
        .body_idle_timeout(Some(idle))
        .build()
        .unwrap()
}

async fn offered(up: &Upstream) -> (Response<Body>, SpliceOffer) {
    let mut res = super::call(up, request(Method::GET, Body::empty()))
        .await
        .unwrap();
    let offer = res
        .extensions_mut()
        .remove::<SpliceOffer>()
        .expect("the body is offered");
    (res, offer)
}

/// One request whose body is moved whole through a [`Copying`] sink: what moved,
/// and what the body yielded after it.
async fn spliced_whole(up: &Upstream) -> (Vec<u8>, Collected<Bytes>) {
    let (res, offer) = offered(up).await;
    let mut sink = Copying::default();
    std::future::poll_fn(|cx| offer.poll_splice(cx, &mut sink)).await;
    (sink.got, res.into_body().collect().await.unwrap())
}

#[tokio::test]
async fn a_long_body_moves_whole_then_ends_and_the_connection_is_parked() {
    let body = pattern(700 * 1024);
    let mut answer =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    answer.extend_from_slice(&body);
    let origin = Origin::answering(leak(answer)).await;
    let up = splicing(&origin, Duration::from_secs(5));
    for _ in 0..2 {
        let (moved, rest) = spliced_whole(&up).await;
        assert!(moved == body, "the body moved changed");
        assert!(rest.trailers().is_none());
        assert!(rest.to_bytes().is_empty());
    }
    assert_eq!(origin.accepts(), 1, "parked at the end and reused");
}

#[tokio::test]
async fn a_chunked_body_moves_its_data_and_the_body_yields_its_trailers() {
    let mut answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let mut whole = Vec::new();
    for size in [100 * 1024, 3, 70 * 1024] {
        let chunk = pattern(size);
        answer.extend_from_slice(format!("{size:X} ; x=y\r\n").as_bytes());
        answer.extend_from_slice(&chunk);
        answer.extend_from_slice(b"\r\n");
        whole.extend_from_slice(&chunk);
    }
    answer.extend_from_slice(b"0\r\nx-t: 1\r\n\r\n");
    let origin = Origin::answering(leak(answer)).await;
    let up = splicing(&origin, Duration::from_secs(5));
    for _ in 0..2 {
        let (moved, rest) = spliced_whole(&up).await;
        assert!(moved == whole, "the data moved changed");
        assert_eq!(rest.trailers().unwrap()["x-t"], "1");
        assert!(rest.to_bytes().is_empty());
    }
    assert_eq!(origin.accepts(), 1, "parked at the end and reused");
}

#[tokio::test]
async fn a_bad_chunk_fails_the_body_and_closes_the_connection() {
    let answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n";
    let origin = Origin::start(move |_, _, _| Action::AnswerEarly(answer)).await;
    let up = splicing(&origin, Duration::from_secs(5));
    let (res, offer) = offered(&up).await;
    let mut sink = Copying::default();
    std::future::poll_fn(|cx| offer.poll_splice(cx, &mut sink)).await;
    assert_eq!(sink.got, b"hello");
    assert!(res.into_body().collect().await.is_err());
}

#[tokio::test]
async fn an_upstream_idle_mid_splice_fails_the_body_with_the_idle_timeout() {
    let mut answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n".to_vec();
    answer.extend_from_slice(&pattern(200 * 1024));
    // The origin sends part of the body, then holds the connection.
    let answer = leak(answer);
    let origin = Origin::start(move |_, _, _| Action::AnswerEarly(answer)).await;
    let up = splicing(&origin, Duration::from_secs(30));
    let (res, offer) = offered(&up).await;
    let mut sink = Copying::default();
    // Move what the origin sent; the splice then waits on the upstream.
    while sink.got.len() < 200 * 1024 {
        let polled = std::future::poll_fn(|cx| Poll::Ready(offer.poll_splice(cx, &mut sink))).await;
        assert!(polled.is_pending(), "ended early");
        tokio::task::yield_now().await;
    }
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(31)).await;
    tokio::time::resume();
    std::future::poll_fn(|cx| offer.poll_splice(cx, &mut sink)).await;
    let e = res.into_body().collect().await.unwrap_err();
    let e = e
        .into_inner()
        .downcast::<ProxyError>()
        .expect("a proxy error");
    assert_eq!(e.kind(), ProxyErrorKind::BodyTimeout);
}

#[tokio::test]
async fn short_bodies_and_upstreams_without_splicing_offer_nothing() {
    let origin = Origin::answering(super::OK).await;
    let up = splicing(&origin, Duration::from_secs(5));
    let res = super::call(&up, request(Method::GET, Body::empty()))
        .await
        .unwrap();
    assert!(res.extensions().get::<SpliceOffer>().is_none());
    let big = leak(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n{}",
            "x".repeat(100_000)
        )
        .into_bytes(),
    );
    let origin = Origin::answering(big).await;
    let up = super::upstream(&origin);
    let res = super::call(&up, request(Method::GET, Body::empty()))
        .await
        .unwrap();
    assert!(res.extensions().get::<SpliceOffer>().is_none());
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes().len(),
        100_000
    );
}
