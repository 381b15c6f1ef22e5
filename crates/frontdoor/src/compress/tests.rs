use std::{convert::Infallible, io::Read};

use bytes::Bytes;
use http::{header, HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{service_fn, Service, ServiceExt};

use super::*;

const PAGE_LEN: usize = 4096;

fn page() -> String {
    "<li>frontdoor</li>\n"
        .repeat(PAGE_LEN / 19 + 1)
        .split_at(PAGE_LEN)
        .0
        .to_owned()
}

/// An origin answering `headers` (and `status`) with `page()`.
fn origin(
    status: u16,
    headers: &'static [(&'static str, &'static str)],
) -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future: Send,
> + Clone {
    service_fn(move |_req: Request<Full<Bytes>>| async move {
        let mut res = Response::new(Full::from(page()));
        *res.status_mut() = StatusCode::from_u16(status).unwrap();
        for (n, v) in headers {
            res.headers_mut()
                .append(*n, http::HeaderValue::from_static(v));
        }
        Ok::<_, Infallible>(res)
    })
}

async fn get(
    layer: &CompressLayer,
    accept: &str,
    status: u16,
    headers: &'static [(&'static str, &'static str)],
) -> (HeaderMap, Bytes) {
    let req = Request::builder()
        .header(header::ACCEPT_ENCODING, accept)
        .body(Full::default())
        .unwrap();
    let res = layer
        .layer(origin(status, headers))
        .oneshot(req)
        .await
        .unwrap();
    let (parts, body) = res.into_parts();
    (parts.headers, body.collect().await.unwrap().to_bytes())
}

fn decode(coding: &str, body: &[u8]) -> String {
    let mut out = String::new();
    match coding {
        "gzip" => flate2::read::GzDecoder::new(body).read_to_string(&mut out),
        "br" => brotli::Decompressor::new(body, 4096).read_to_string(&mut out),
        "zstd" => zstd::stream::read::Decoder::new(body)
            .unwrap()
            .read_to_string(&mut out),
        other => panic!("unexpected coding {other}"),
    }
    .unwrap();
    out
}

const HTML: &[(&str, &str)] = &[
    ("content-type", "text/html; charset=utf-8"),
    ("content-length", "4096"),
    ("accept-ranges", "bytes"),
    ("etag", "\"abc\""),
];

#[tokio::test]
async fn each_algorithm_by_accept_encoding() {
    let layer = CompressLayer::new();
    for (accept, coding) in [
        ("gzip", "gzip"),
        ("br", "br"),
        ("zstd", "zstd"),
        ("gzip, br, zstd", "zstd"),
        ("gzip, br;q=0.9", "gzip"),
    ] {
        let (headers, body) = get(&layer, accept, 200, HTML).await;
        assert_eq!(headers[header::CONTENT_ENCODING], coding, "{accept}");
        assert_eq!(headers[header::VARY], "accept-encoding");
        assert_eq!(headers[header::ETAG], "W/\"abc\"");
        assert!(!headers.contains_key(header::ACCEPT_RANGES));
        assert!(!headers.contains_key(header::CONTENT_LENGTH));
        assert!(body.len() < PAGE_LEN / 4, "{accept}: {}", body.len());
        assert_eq!(decode(coding, &body), page(), "{accept}");
    }
}

#[tokio::test]
async fn configured_order_breaks_ties() {
    let layer = CompressLayer::new().algorithms([Algorithm::Gzip, Algorithm::Zstd]);
    let (headers, _) = get(&layer, "zstd, br, gzip", 200, HTML).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    let (headers, body) = get(&layer, "br", 200, HTML).await;
    assert!(!headers.contains_key(header::CONTENT_ENCODING));
    assert_eq!(headers[header::VARY], "accept-encoding");
    assert_eq!(body, page());
}

#[tokio::test]
async fn identity_answers_keep_their_headers() {
    let layer = CompressLayer::new();
    for accept in ["identity", "gzip;q=0", ""] {
        let (headers, body) = get(&layer, accept, 200, HTML).await;
        assert!(!headers.contains_key(header::CONTENT_ENCODING), "{accept}");
        assert_eq!(headers[header::VARY], "accept-encoding");
        assert_eq!(headers[header::ETAG], "\"abc\"");
        assert_eq!(headers[header::ACCEPT_RANGES], "bytes");
        assert_eq!(headers[header::CONTENT_LENGTH], "4096");
        assert_eq!(body, page());
    }
}

#[tokio::test]
async fn excluded_answers_pass_untouched() {
    let layer = CompressLayer::new();
    let cases: [(u16, &'static [(&'static str, &'static str)]); 6] = [
        (
            200,
            &[
                ("content-type", "text/html"),
                ("content-encoding", "gzip"),
                ("etag", "\"e\""),
            ],
        ),
        (
            206,
            &[
                ("content-type", "text/html"),
                ("content-range", "bytes 0-4095/9999"),
            ],
        ),
        (304, &[("content-type", "text/html"), ("etag", "\"e\"")]),
        (
            200,
            &[
                ("content-type", "text/html"),
                ("cache-control", "no-transform"),
            ],
        ),
        (200, &[("content-type", "image/png")]),
        (200, &[("content-type", "text/event-stream")]),
    ];
    for (status, headers) in cases {
        let (got, body) = get(&layer, "gzip, br, zstd", status, headers).await;
        let expected: HeaderMap = headers
            .iter()
            .map(|(n, v)| {
                (
                    http::HeaderName::from_static(n),
                    http::HeaderValue::from_static(v),
                )
            })
            .collect();
        assert_eq!(got, expected, "{status} {headers:?}");
        assert_eq!(body, page());
    }
}

#[tokio::test]
async fn min_size_applies_to_known_lengths() {
    let layer = CompressLayer::new().min_size(5000);
    let (headers, _) = get(&layer, "gzip", 200, HTML).await;
    assert!(!headers.contains_key(header::CONTENT_ENCODING));
    assert!(!headers.contains_key(header::VARY));
    // `Full` knows its length: the body's size hint counts as a known length.
    let (headers, _) = get(&layer, "gzip", 200, &[("content-type", "text/html")]).await;
    assert!(!headers.contains_key(header::CONTENT_ENCODING));
    let layer = CompressLayer::new().min_size(4096);
    let (headers, _) = get(&layer, "gzip", 200, HTML).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
}

#[tokio::test]
async fn types_replace_the_defaults() {
    let layer = CompressLayer::new().types(["image/png".parse().unwrap()]);
    let png: &'static [(&'static str, &'static str)] = &[("content-type", "image/png")];
    let (headers, _) = get(&layer, "gzip", 200, png).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    let (headers, _) = get(&layer, "gzip", 200, HTML).await;
    assert!(!headers.contains_key(header::CONTENT_ENCODING));
}

#[test]
fn algorithms_parse() {
    assert_eq!("br".parse::<Algorithm>(), Ok(Algorithm::Br));
    assert_eq!(
        "lz4".parse::<Algorithm>().unwrap_err().to_string(),
        "unknown algorithm \"lz4\", expected zstd, br, gzip"
    );
}

#[test]
fn weakening() {
    let mut headers = HeaderMap::new();
    for (etag, expected) in [("\"x\"", "W/\"x\""), ("W/\"x\"", "W/\"x\""), ("x", "x")] {
        headers.insert(header::ETAG, http::HeaderValue::from_static(etag));
        weaken_etag(&mut headers);
        assert_eq!(headers[header::ETAG], expected);
    }
}

#[test]
fn send_sync_clone() {
    fn assert<T: Send + Sync + Clone>() {}
    fn assert_send<T: Send>() {}
    assert::<CompressLayer>();
    assert::<
        Compress<
            tower::util::BoxCloneSyncService<
                Request<Full<Bytes>>,
                Response<Full<Bytes>>,
                Infallible,
            >,
        >,
    >();
    assert_send::<ResponseFuture<std::future::Ready<Result<Response<Full<Bytes>>, Infallible>>>>();
}
