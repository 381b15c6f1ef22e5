//! Relocation through content codings, through the built binary: an origin that
//! always compresses its HTML and multistatus answers, clients that accept the
//! coding or only identity, an unknown coding passed on and counted, and a gzip bomb
//! cut off past `[server] max_decoded_body` in bounded memory.

mod bomb;

use std::{convert::Infallible, net::SocketAddr, time::Duration};

use async_compression::{
    codecs::{BrotliDecoder, BrotliEncoder, DecodeV2, EncodeV2, GzipDecoder, GzipEncoder},
    core::util::{PartialBuffer, WriteBuffer},
    Level,
};
use bytes::Bytes;
use frontdoor::{serve::Server, Body};
use http::{Request, Response};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::{get, start, ConfigFile};

/// The public host the clients use.
const HOST: &str = "public.test";

/// `data` in `coding` (`gzip` or `br`).
fn encode(coding: &str, data: &[u8]) -> Vec<u8> {
    let mut codec: Box<dyn EncodeV2> = match coding {
        "gzip" => Box::new(GzipEncoder::new(Level::Default.into())),
        _ => Box::new(BrotliEncoder::new(Default::default())),
    };
    let mut out = vec![0; data.len() * 2 + 4096];
    let mut written = WriteBuffer::new_initialized(&mut out);
    let mut input = PartialBuffer::new(data);
    while !input.unwritten().is_empty() {
        codec.encode(&mut input, &mut written).unwrap();
    }
    while !codec.finish(&mut written).unwrap() {}
    let n = written.written_len();
    out.truncate(n);
    out
}

/// `data` decoded from `coding`; `Err` when it is incomplete or corrupt. Output is
/// capped at `cap` bytes.
fn decode(coding: &str, data: &[u8], cap: usize) -> Result<Vec<u8>, String> {
    let mut codec: Box<dyn DecodeV2> = match coding {
        "gzip" => Box::new(GzipDecoder::new()),
        _ => Box::new(BrotliDecoder::new()),
    };
    let mut out = vec![0; cap];
    let mut written = WriteBuffer::new_initialized(&mut out);
    let mut input = PartialBuffer::new(data);
    let done = codec
        .decode(&mut input, &mut written)
        .map_err(|e| e.to_string())?;
    let n = written.written_len();
    out.truncate(n);
    if done {
        Ok(out)
    } else {
        Err(format!("incomplete after {n} bytes"))
    }
}

/// A streaming body of an origin: what the channel sends, ending when it closes.
struct Channel(tokio::sync::mpsc::Receiver<Bytes>);

impl http_body::Body for Channel {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(http_body::Frame::data(b))))
    }
}

fn page(origin: SocketAddr) -> String {
    format!(
        r#"<html><body><a href="http://{origin}/real/docs/a.html">a</a> <img src="/real/logo.png"> <a href="http://elsewhere.test/real/x">x</a></body></html>"#
    )
}

fn page_relocated() -> String {
    format!(
        r#"<html><body><a href="http://{HOST}/app/docs/a.html">a</a> <img src="/app/logo.png"> <a href="http://elsewhere.test/real/x">x</a></body></html>"#
    )
}

fn multistatus(origin: SocketAddr, dir: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:"><D:response><D:href>/webdav/{dir}/a.txt</D:href><D:propstat><D:prop><D:displayname>a</D:displayname></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response><D:response><D:href>http://{origin}/webdav/{dir}/b.txt</D:href><D:propstat><D:prop/><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"#
    )
}

fn multistatus_relocated(dir: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:"><D:response><D:href>/dav/{dir}/a.txt</D:href><D:propstat><D:prop><D:displayname>a</D:displayname></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response><D:response><D:href>http://{HOST}/dav/{dir}/b.txt</D:href><D:propstat><D:prop/><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"#
    )
}

/// An answer in `coding` (whatever the request's `Accept-Encoding`), which the origin
/// reports back in `x-origin-accept-encoding`.
fn coded(
    req: &Request<Body>,
    status: u16,
    ct: &str,
    coding: &str,
    body: Vec<u8>,
) -> Response<Body> {
    let seen = req
        .headers()
        .get("accept-encoding")
        .map_or("-", |v| v.to_str().unwrap())
        .to_owned();
    Response::builder()
        .status(status)
        .header("content-type", ct)
        .header("content-encoding", coding)
        .header("content-length", body.len())
        .header("etag", "\"v1\"")
        .header("x-origin-accept-encoding", seen)
        .body(Body::from(body))
        .unwrap()
}

/// The origin: `/real/page.html` always in gzip, `/real/old.html` in `compress`, a
/// `PROPFIND` under `/webdav/gz/` or `/webdav/br/` in gzip or br, and the bomb routes
/// of [`bomb`].
async fn origin() -> SocketAddr {
    let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let addr = server.local_addrs().unwrap()[0];
    tokio::spawn(
        server.serve(tower::service_fn(move |req: Request<Body>| async move {
            let path = req.uri().path().to_owned();
            let html = "text/html; charset=utf-8";
            let xml = "application/xml; charset=utf-8";
            let res = match path.as_str() {
                "/real/page.html" => coded(
                    &req,
                    200,
                    html,
                    "gzip",
                    encode("gzip", page(addr).as_bytes()),
                ),
                "/real/old.html" => coded(&req, 200, html, "compress", page(addr).into_bytes()),
                "/webdav/gz/" => coded(
                    &req,
                    207,
                    xml,
                    "gzip",
                    encode("gzip", multistatus(addr, "gz").as_bytes()),
                ),
                "/webdav/br/" => coded(
                    &req,
                    207,
                    xml,
                    "br",
                    encode("br", multistatus(addr, "br").as_bytes()),
                ),
                "/webdav/echo/" => return Ok(echo(req).await),
                _ => bomb::answer(&path, addr),
            };
            Ok::<_, Infallible>(res)
        })),
    );
    addr
}

/// The request body as the origin got it, as `text/plain` (so the answer is not
/// rewritten), with its `Content-Encoding` in `x-origin-content-encoding`.
async fn echo(req: Request<Body>) -> Response<Body> {
    use http_body_util::BodyExt;

    let coding = req
        .headers()
        .get("content-encoding")
        .map_or("-", |v| v.to_str().unwrap())
        .to_owned();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    Response::builder()
        .status(207)
        .header("content-type", "text/plain")
        .header("x-origin-content-encoding", coding)
        .body(Body::from(body))
        .unwrap()
}

fn config(origin: SocketAddr, server: &str) -> ConfigFile {
    ConfigFile::new(&format!(
        "[server]\nworkers = 1\nadmin = \"127.0.0.1:0\"\n{server}\n\n\
         [[route]]\nname = \"app\"\nspec = \"::/app\"\nupstream = \"http://{origin}/real\"\nrelocate = \"html\"\n\n\
         [[route]]\nname = \"dav\"\nspec = \"::/dav\"\nupstream = \"http://{origin}/webdav\"\nrelocate = \"webdav\"\n"
    ))
}

/// A parsed answer: status, head, the body (de-chunked), and whether it ended
/// properly (its last chunk, or its whole length, arrived).
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
    complete: bool,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn headers(&self, name: &str) -> Vec<&str> {
        self.head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect()
    }
}

/// Splits raw bytes into head and de-chunked body.
fn parse(raw: &[u8]) -> Answer {
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no head");
    let head = String::from_utf8(raw[..at].to_vec()).unwrap();
    let rest = &raw[at + 4..];
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let (body, complete) = if chunked {
        dechunk(rest)
    } else {
        let len = head.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap())
        });
        (rest.to_vec(), len.is_none_or(|n| n == rest.len()))
    };
    Answer {
        status,
        head,
        body,
        complete,
    }
}

/// The data of the whole chunks in `raw`, and whether the last chunk arrived.
fn dechunk(mut raw: &[u8]) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return (body, false);
        };
        let size = std::str::from_utf8(&raw[..eol])
            .unwrap()
            .split(';')
            .next()
            .unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return (body, true);
        }
        let Some(data) = raw.get(eol + 2..eol + 2 + size) else {
            return (body, false);
        };
        body.extend_from_slice(data);
        raw = raw.get(eol + 4 + size..).unwrap_or_default();
    }
}

/// One request (`Connection: close`), read to the end.
async fn request(addr: &str, method: &str, path: &str, extra: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {HOST}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut raw))
        .await
        .expect("no answer")
        .unwrap();
    parse(&raw)
}

/// The body of `answer` decoded as its `Content-Encoding` says.
fn decoded(answer: &Answer) -> String {
    let body = match answer.header("content-encoding") {
        None => answer.body.clone(),
        Some(coding) => decode(coding, &answer.body, 1 << 20).unwrap(),
    };
    String::from_utf8(body).unwrap()
}

/// The HTML page and both multistatus answers, to a client that accepts the coding
/// and to one that accepts only identity: relocated either way, in the coding the
/// client accepts, and the client's `Accept-Encoding` reached the origin.
#[tokio::test]
async fn compressed_answers_are_relocated_in_the_coding_the_client_accepts() {
    let origin = origin().await;
    let file = config(origin, "");
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let cases = [
        ("GET", "/app/page.html", "gzip", page_relocated()),
        ("PROPFIND", "/dav/gz/", "gzip", multistatus_relocated("gz")),
        ("PROPFIND", "/dav/br/", "br", multistatus_relocated("br")),
    ];
    for (method, path, coding, want) in cases {
        for accept in [format!("{coding}, deflate"), "identity".to_owned()] {
            let extra = format!("Accept-Encoding: {accept}\r\nDepth: 1\r\n");
            let answer = request(&fd.addr, method, path, &extra).await;
            let case = format!("{method} {path}, accept {accept}");
            assert!(
                answer.status == 200 || answer.status == 207,
                "{case}: {}",
                answer.head
            );
            assert!(answer.complete, "{case}");
            assert_eq!(
                answer.header("x-origin-accept-encoding"),
                Some(accept.as_str()),
                "{case}"
            );
            let sent = if accept == "identity" {
                None
            } else {
                Some(coding)
            };
            assert_eq!(answer.header("content-encoding"), sent, "{case}");
            assert_eq!(answer.header("content-length"), None, "{case}");
            assert_eq!(answer.header("etag"), Some("W/\"v1\""), "{case}");
            assert_eq!(answer.headers("vary"), ["accept-encoding"], "{case}");
            assert_eq!(decoded(&answer), want, "{case}");
        }
    }
}

/// An answer in a coding the relocation cannot decode passes byte for byte, is
/// counted on `/metrics` by route and reason, and is logged (once per route).
#[tokio::test]
async fn an_unknown_coding_passes_unrelocated_and_is_counted() {
    let origin = origin().await;
    let file = config(origin, "");
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    for _ in 0..2 {
        let answer = request(
            &fd.addr,
            "GET",
            "/app/old.html",
            "Accept-Encoding: compress\r\n",
        )
        .await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-encoding"), Some("compress"));
        assert_eq!(answer.body, page(origin).as_bytes());
    }
    let line = fd.wait_log("compressed body passed on unrelocated");
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("app"), "{line}");
    let admin = fd.admin.clone().unwrap();
    let (_, _, metrics) = get(&admin, "/metrics", "admin", "").await;
    assert!(
        metrics.contains(
            "frontdoor_relocate_skipped_total{route=\"app\",reason=\"unknown_coding\"} 2"
        ),
        "{metrics}"
    );
}

/// `max_decoded_body` is a size of `[server]`; a bad one is reported with its line.
#[test]
fn max_decoded_body_is_checked() {
    let file = ConfigFile::new(
        "[server]\nmax_decoded_body = \"lots\"\n\n[default]\nupstream = \"http://127.0.0.1:1\"\n",
    );
    let out = super::bin()
        .args(["check", "-c"])
        .arg(&file.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let name = file.0.display().to_string();
    assert_eq!(
        stderr.trim_end(),
        format!(
            "{name}: line 2: server.max_decoded_body: not a size: \"lots\"; write a number of bytes or e.g. \"64KiB\", \"1MiB\""
        )
    );
    file.rewrite(
        "[server]\nmax_decoded_body = \"64MiB\"\n\n[default]\nupstream = \"http://127.0.0.1:1\"\n",
    );
    let out = super::bin()
        .args(["check", "-c"])
        .arg(&file.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// A gzipped DAV request body is relocated and reaches the origin gzipped; one in a
/// coding the front door cannot decode is answered 415 and never forwarded.
#[tokio::test]
async fn coded_request_bodies() {
    let origin = origin().await;
    let file = config(origin, "");
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let xml = format!(
        r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:href>http://{HOST}/dav/a.txt</D:href></D:prop></D:set></D:propertyupdate>"#
    );
    let want = format!(
        r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:href>http://{origin}/webdav/a.txt</D:href></D:prop></D:set></D:propertyupdate>"#
    );
    let send = |coding: &'static str, body: Vec<u8>| {
        let addr = fd.addr.clone();
        async move {
            let mut stream = TcpStream::connect(&addr).await.unwrap();
            let head = format!(
                "PROPPATCH /dav/echo/ HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: text/xml\r\n\
                 Content-Encoding: {coding}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.write_all(&body).await.unwrap();
            let mut raw = Vec::new();
            tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw))
                .await
                .expect("no answer")
                .unwrap();
            parse(&raw)
        }
    };
    let answer = send("gzip", encode("gzip", xml.as_bytes())).await;
    assert_eq!(answer.status, 207, "{}", answer.head);
    assert_eq!(answer.header("x-origin-content-encoding"), Some("gzip"));
    let got = decode("gzip", &answer.body, 1 << 20).unwrap();
    assert_eq!(String::from_utf8(got).unwrap(), want);
    let answer = send("compress", xml.clone().into_bytes()).await;
    assert_eq!(answer.status, 415, "{}", answer.head);
    assert_eq!(
        answer.header("accept-encoding"),
        Some("gzip, deflate, br, zstd")
    );
    assert_eq!(answer.header("x-origin-content-encoding"), None);
}
