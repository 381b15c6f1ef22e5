//! Throughput of the relocation body rewriters, through the layer, in process.
//!
//! Run: `cargo bench -p frontdoor-relocate --bench rewrite`.
//!
//! Each case sends a 1 MiB body in 16 KiB frames from a `service_fn` upstream
//! through `RelocateLayer` and collects the output (no sockets):
//!
//! * `xml/multistatus_1mib`: a PROPFIND multistatus (two hrefs per response, one
//!   absolute), webdav profile; every href is rewritten, the body streams.
//! * `html/page_1mib`: an HTML page with links, forms, images, scripts, comments
//!   and text, html profile.
//! * `passthrough/multistatus_1mib`: the same multistatus answering a GET (not a DAV
//!   method): what the layer costs when a body is not rewritten.
//! * `codings/html_identity`, `codings/html_gzip_to_gzip`,
//!   `codings/html_gzip_to_identity`: the HTML page uncompressed, then gzipped by the
//!   upstream (about 51 KiB) and relocated for a client that accepts gzip (decoded,
//!   rewritten, encoded again) or only identity (decoded, rewritten); throughput is
//!   counted in decoded bytes, so the three compare directly.
//!
//! Criterion reports MB/s (bytes of input per second).
#![allow(missing_docs, reason = "bench binary")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "bench code")]

use std::{
    collections::VecDeque,
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use frontdoor_core::{Body, BoxError};
use frontdoor_relocate::{Profile, RelocateLayer};
use http::{Request, Response};
use http_body::Frame;
use http_body_util::BodyExt;
use tower::{service_fn, util::BoxCloneSyncService, Layer, ServiceExt};

const FRAME: usize = 16 * 1024;
const SIZE: usize = 1024 * 1024;

/// A body of prepared frames.
struct Frames(VecDeque<Bytes>);

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

fn frames(doc: &Bytes) -> VecDeque<Bytes> {
    (0..doc.len())
        .step_by(FRAME)
        .map(|i| doc.slice(i..doc.len().min(i + FRAME)))
        .collect()
}

fn multistatus() -> Bytes {
    let mut doc =
        String::from(r#"<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:">"#);
    let mut i = 0;
    while doc.len() < SIZE - 512 {
        doc.push_str(&format!(
            "<D:response><D:href>/webdav/dir/file-{i}.txt</D:href><D:propstat><D:prop>\
             <D:displayname>file &amp; {i}</D:displayname><D:getcontentlength>{i}</D:getcontentlength>\
             <D:getlastmodified>Mon, 12 Jan 2026 10:00:00 GMT</D:getlastmodified>\
             <D:resourcetype/><D:lockdiscovery><D:activelock><D:lockroot>\
             <D:href>http://files.internal/webdav/dir/file-{i}.txt</D:href></D:lockroot>\
             </D:activelock></D:lockdiscovery></D:prop><D:status>HTTP/1.1 200 OK</D:status>\
             </D:propstat></D:response>\n"
        ));
        i += 1;
    }
    doc.push_str("</D:multistatus>\n");
    Bytes::from(doc)
}

fn page() -> Bytes {
    let mut doc = String::from(
        "<!DOCTYPE html><html><head><title>Site</title>\
         <link rel=\"stylesheet\" href=\"/site/style.css\"><script src=\"/site/app.js\"></script></head><body>\n",
    );
    let mut i = 0;
    while doc.len() < SIZE - 512 {
        doc.push_str(&format!(
            "<div class=\"item\" id=\"item-{i}\"><h2><a href=\"/site/node/{i}\" title=\"Node {i}\">Node {i}</a></h2>\
             <p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt \
             ut labore et dolore magna aliqua &amp; more. <a href='http://www.example.org/x'>elsewhere</a></p>\
             <img src=/site/img/{i}.png alt=\"picture {i}\" width=\"64\" height=\"64\">\
             <!-- item {i} --><form action=\"/site/node/{i}/edit\" method=\"post\"><input type=\"hidden\" name=\"n\" value=\"{i}\"></form>\
             <script>if (a < b && c > d) {{ load('/site/x'); }}</script></div>\n"
        ));
        i += 1;
    }
    doc.push_str("</body></html>\n");
    Bytes::from(doc)
}

type Svc = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// The layer over an upstream that answers `doc` in 16 KiB frames.
fn stack(layer: &RelocateLayer, ct: &'static str, doc: &Bytes) -> Svc {
    let input = frames(doc);
    BoxCloneSyncService::new(layer.layer(service_fn(move |_req: Request<Body>| {
        let body = Body::new(Frames(input.clone()));
        async move {
            let mut res = Response::new(body);
            res.headers_mut()
                .insert("content-type", http::HeaderValue::from_static(ct));
            Ok::<_, Infallible>(res)
        }
    })))
}

/// One request through `svc`; the number of output bytes.
async fn run(svc: Svc, method: &str) -> usize {
    run_accepting(svc, method, "identity").await
}

/// [`run`] with the client's `Accept-Encoding`.
async fn run_accepting(svc: Svc, method: &str, accept: &'static str) -> usize {
    let req = Request::builder()
        .method(method)
        .uri("/")
        .header("accept-encoding", accept)
        .body(Body::empty())
        .unwrap();
    let mut body = svc.oneshot(req).await.unwrap().into_body();
    let mut n = 0;
    while let Some(frame) = body.frame().await {
        n += frame.unwrap().into_data().map_or(0, |d| d.len());
    }
    n
}

fn bench_case(
    c: &mut Criterion,
    group: &str,
    case: &str,
    layer: &RelocateLayer,
    method: &'static str,
    ct: &'static str,
    doc: &Bytes,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let svc = stack(layer, ct, doc);
    // Check once that the case does what it says.
    let out = rt.block_on(run(svc.clone(), method));
    assert!(out > doc.len() / 2);
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Bytes(doc.len() as u64));
    g.bench_function(case, |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(run(svc.clone(), method).await) });
    });
    g.finish();
}

fn rewriters(c: &mut Criterion) {
    let dav = RelocateLayer::new(Profile::WebDav)
        .remote_root("http://files.internal/webdav".parse().unwrap())
        .local_root("http://localhost:8080/dav".parse().unwrap());
    let html = RelocateLayer::new(Profile::Html)
        .remote_root("http://www.example.com/site".parse().unwrap())
        .local_root("https://public.example/sm".parse().unwrap());
    let (xml, page) = (multistatus(), page());
    let xml_ct = "text/xml; charset=utf-8";
    bench_case(c, "xml", "multistatus_1mib", &dav, "PROPFIND", xml_ct, &xml);
    bench_case(c, "html", "page_1mib", &html, "GET", "text/html", &page);
    bench_case(
        c,
        "passthrough",
        "multistatus_1mib",
        &dav,
        "GET",
        xml_ct,
        &xml,
    );
}

/// The layer over an upstream that answers `coded` (gzip) in 16 KiB frames.
fn gzip_stack(layer: &RelocateLayer, coded: &Bytes) -> Svc {
    let input = frames(coded);
    BoxCloneSyncService::new(layer.layer(service_fn(move |_req: Request<Body>| {
        let body = Body::new(Frames(input.clone()));
        async move {
            let mut res = Response::new(body);
            let headers = res.headers_mut();
            headers.insert("content-type", http::HeaderValue::from_static("text/html"));
            headers.insert("content-encoding", http::HeaderValue::from_static("gzip"));
            Ok::<_, Infallible>(res)
        }
    })))
}

/// `data` gzipped at the default level, as an upstream would.
fn gzip(data: &[u8]) -> Bytes {
    use async_compression::{
        codecs::{EncodeV2, GzipEncoder},
        core::util::{PartialBuffer, WriteBuffer},
        Level,
    };
    let mut codec = GzipEncoder::new(Level::Default.into());
    let mut out = vec![0; data.len() + 4096];
    let mut written = WriteBuffer::new_initialized(&mut out);
    let mut input = PartialBuffer::new(data);
    while !input.unwritten().is_empty() {
        codec.encode(&mut input, &mut written).unwrap();
    }
    while !codec.finish(&mut written).unwrap() {}
    let n = written.written_len();
    out.truncate(n);
    Bytes::from(out)
}

/// Relocating the 1 MiB page uncompressed, and gzipped for a client that accepts
/// gzip or only identity; MB/s of the decoded page.
fn codings(c: &mut Criterion) {
    let html = RelocateLayer::new(Profile::Html)
        .remote_root("http://www.example.com/site".parse().unwrap())
        .local_root("https://public.example/sm".parse().unwrap());
    let page = page();
    let coded = gzip(&page);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let plain = stack(&html, "text/html", &page);
    let gzipped = gzip_stack(&html, &coded);
    let identity_out = rt.block_on(run(plain.clone(), "GET"));
    assert_eq!(rt.block_on(run(gzipped.clone(), "GET")), identity_out);
    assert!(rt.block_on(run_accepting(gzipped.clone(), "GET", "gzip")) < coded.len() * 2);
    let mut g = c.benchmark_group("codings");
    g.throughput(Throughput::Bytes(page.len() as u64));
    g.bench_function("html_identity", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(run(plain.clone(), "GET").await) });
    });
    g.bench_function("html_gzip_to_gzip", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(run_accepting(gzipped.clone(), "GET", "gzip").await) });
    });
    g.bench_function("html_gzip_to_identity", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(run(gzipped.clone(), "GET").await) });
    });
    g.finish();
}

criterion_group!(benches, rewriters, codings);
criterion_main!(benches);
