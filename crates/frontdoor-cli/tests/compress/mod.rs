//! Response compression through the built binary: `compress = true` answers gzip, br
//! or zstd by the client's `Accept-Encoding`, with `Vary` and a weakened `ETag`;
//! identity when nothing is accepted; an already compressed answer, a small one and
//! server-sent events pass as they are (events unbuffered); a route's table form;
//! relocated answers are compressed; and key paths in config errors.

use std::{io::Read, net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::Notify,
};

use super::{bin, start, ConfigFile};

const BOUND: Duration = Duration::from_secs(20);

/// The origin's page: 4 KiB of HTML.
fn page() -> String {
    let mut page = String::from("<!doctype html>\n<ul>\n");
    let mut i = 0;
    while page.len() < 4000 {
        page.push_str(&format!("<li>item {i}</li>\n"));
        i += 1;
    }
    page.push_str("</ul>\n");
    page
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn decode(coding: &str, body: &[u8]) -> String {
    let mut out = String::new();
    match coding {
        "gzip" => flate2::read::GzDecoder::new(body).read_to_string(&mut out),
        "br" => brotli::Decompressor::new(body, 4096).read_to_string(&mut out),
        "zstd" => zstd::stream::read::Decoder::new(body)
            .unwrap()
            .read_to_string(&mut out),
        other => panic!("unexpected coding {other:?}"),
    }
    .unwrap();
    out
}

/// An origin on a loopback port: `/page` (HTML, strong `ETag`, `Accept-Ranges`),
/// `/gzipped` (the page gzipped by the origin), `/small` (100 bytes of HTML),
/// `/events` (an event stream whose second event waits for `next`), `/upgrade` (a
/// `101` to websocket, then an echo of the tunnel), and
/// `/relocated` (HTML linking to the origin's own address).
async fn origin(next: Arc<Notify>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let next = Arc::clone(&next);
            tokio::spawn(async move {
                let head = read_head(&mut stream).await;
                let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                answer(&mut stream, &path, addr, &next).await;
            });
        }
    });
    addr
}

async fn answer(stream: &mut TcpStream, path: &str, addr: SocketAddr, next: &Notify) {
    let (headers, body): (&str, Vec<u8>) = match path {
        "/page" | "/app/page" => (
            "Content-Type: text/html; charset=utf-8\r\nETag: \"page-1\"\r\nAccept-Ranges: bytes\r\n",
            page().into_bytes(),
        ),
        "/gzipped" => (
            "Content-Type: text/html\r\nContent-Encoding: gzip\r\n",
            gzip(page().as_bytes()),
        ),
        "/small" => ("Content-Type: text/html\r\n", vec![b'x'; 100]),
        "/app/relocated" => {
            let link = format!("<a href=\"http://{addr}/app/next\">next</a>\n");
            ("Content-Type: text/html\r\n", (page() + &link).into_bytes())
        }
        "/upgrade" => {
            let head = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\
                        Upgrade: websocket\r\nContent-Type: text/html\r\n\r\n";
            stream.write_all(head.as_bytes()).await.unwrap();
            let (mut r, mut w) = stream.split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
            return;
        }
        "/events" => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                        Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
            let first = "data: one\n\n";
            let chunk = format!("{head}{:x}\r\n{first}\r\n", first.len());
            stream.write_all(chunk.as_bytes()).await.unwrap();
            // The second event only once the client has read the first.
            next.notified().await;
            let second = "data: two\n\n";
            let chunk = format!("{:x}\r\n{second}\r\n0\r\n\r\n", second.len());
            let _ = stream.write_all(chunk.as_bytes()).await;
            return;
        }
        _ => ("Content-Type: text/plain\r\n", b"not here".to_vec()),
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&body).await;
}

/// One head, up to the blank line.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.unwrap_or(0) == 0 {
            break;
        }
        got.push(byte[0]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// An answer: status, header lines (names lowercase), body (de-chunked).
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_head(head: &str) -> (u16, Vec<(String, String)>) {
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = std::str::from_utf8(&data[..line_end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// `GET path` with `Accept-Encoding: accept` (none when empty), read to the close.
async fn fetch(addr: &str, path: &str, accept: &str) -> Answer {
    let accept = if accept.is_empty() {
        String::new()
    } else {
        format!("Accept-Encoding: {accept}\r\n")
    };
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: h\r\n{accept}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(BOUND, stream.read_to_end(&mut raw))
        .await
        .expect("no answer")
        .unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let (status, headers) = parse_head(std::str::from_utf8(&raw[..split]).unwrap());
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn config(origin: SocketAddr, extra: &str) -> ConfigFile {
    ConfigFile::new(&format!(
        "[server]\nworkers = 1\n\n{extra}[default]\nupstream = \"http://{origin}\"\ncompress = true\n"
    ))
}

#[tokio::test]
async fn compress_true_answers_each_coding_by_accept_encoding() {
    let origin = origin(Arc::new(Notify::new())).await;
    let file = config(origin, "");
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    for (accept, coding) in [
        ("gzip", "gzip"),
        ("br", "br"),
        ("zstd", "zstd"),
        ("gzip, deflate, br, zstd", "zstd"),
        ("gzip;q=1, br;q=0.5, zstd;q=0.1", "gzip"),
        ("br, gzip", "br"),
    ] {
        let res = fetch(&fd.addr, "/page", accept).await;
        assert_eq!(res.status, 200, "{accept}");
        assert_eq!(res.header("content-encoding"), Some(coding), "{accept}");
        assert_eq!(res.header("vary"), Some("accept-encoding"), "{accept}");
        assert_eq!(res.header("etag"), Some("W/\"page-1\""), "{accept}");
        assert_eq!(res.header("accept-ranges"), None, "{accept}");
        assert_eq!(res.header("content-length"), None, "{accept}");
        assert!(res.body.len() < 2000, "{accept}: {} bytes", res.body.len());
        assert_eq!(decode(coding, &res.body), page(), "{accept}");
    }
}

#[tokio::test]
async fn identity_when_no_coding_is_accepted() {
    let origin = origin(Arc::new(Notify::new())).await;
    let file = config(origin, "");
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    for accept in ["", "identity", "gzip;q=0", "compress, lz4"] {
        let res = fetch(&fd.addr, "/page", accept).await;
        assert_eq!(res.status, 200, "{accept}");
        assert_eq!(res.header("content-encoding"), None, "{accept}");
        assert_eq!(res.header("vary"), Some("accept-encoding"), "{accept}");
        assert_eq!(res.header("etag"), Some("\"page-1\""), "{accept}");
        assert_eq!(res.header("accept-ranges"), Some("bytes"), "{accept}");
        let length = page().len().to_string();
        assert_eq!(res.header("content-length"), Some(length.as_str()));
        assert_eq!(String::from_utf8(res.body).unwrap(), page());
    }
}

#[tokio::test]
async fn compressed_and_small_answers_pass_as_they_are() {
    let origin = origin(Arc::new(Notify::new())).await;
    let file = config(origin, "");
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    // The origin's gzip stays gzip, byte for byte, even for a client preferring br.
    let res = fetch(&fd.addr, "/gzipped", "br, gzip;q=0.5").await;
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert_eq!(res.header("vary"), None);
    assert_eq!(res.body, gzip(page().as_bytes()));
    assert_eq!(decode("gzip", &res.body), page());
    // 100 bytes are below min_size (1 KiB).
    let res = fetch(&fd.addr, "/small", "gzip").await;
    assert_eq!(res.header("content-encoding"), None);
    assert_eq!(res.header("content-length"), Some("100"));
    assert_eq!(res.body, vec![b'x'; 100]);
}

#[tokio::test]
async fn server_sent_events_are_not_compressed_or_buffered() {
    let next = Arc::new(Notify::new());
    let origin = origin(Arc::clone(&next)).await;
    let file = config(origin, "");
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let mut stream = TcpStream::connect(&fd.addr).await.unwrap();
    stream
        .write_all(b"GET /events HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip, br, zstd\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    // The first event arrives while the origin still holds the second.
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).contains("data: one\n\n") {
        let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
            .await
            .expect("the first event was held back")
            .unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    next.notify_one();
    tokio::time::timeout(BOUND, stream.read_to_end(&mut got))
        .await
        .expect("the stream did not end")
        .unwrap();
    let text = String::from_utf8(got).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let (status, headers) = parse_head(head);
    assert_eq!(status, 200);
    assert!(
        !headers.iter().any(|(n, _)| n == "content-encoding"),
        "{head}"
    );
    assert_eq!(
        String::from_utf8(dechunk(body.as_bytes())).unwrap(),
        "data: one\n\ndata: two\n\n"
    );
}

#[tokio::test]
async fn an_upgrade_is_not_compressed_and_its_tunnel_works() {
    let origin = origin(Arc::new(Notify::new())).await;
    // min_size = 0: the 101's empty body is no reason to leave it alone.
    let route = format!(
        "[[route]]\nspec = \"::/up\"\nupstream = \"http://{origin}\"\n\
         compress = {{ min_size = 0 }}\n\n"
    );
    let file = config(origin, &route);
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let mut stream = TcpStream::connect(&fd.addr).await.unwrap();
    stream
        .write_all(
            b"GET /up/upgrade HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
              Accept-Encoding: gzip\r\n\r\n",
        )
        .await
        .unwrap();
    let head = tokio::time::timeout(BOUND, read_head(&mut stream))
        .await
        .expect("no 101");
    let (status, headers) = parse_head(&head);
    assert_eq!(status, 101, "{head}");
    assert!(
        !headers
            .iter()
            .any(|(n, _)| n == "content-encoding" || n == "vary"),
        "{head}"
    );
    stream.write_all(b"ping through the tunnel").await.unwrap();
    let mut echoed = [0u8; 23];
    tokio::time::timeout(BOUND, stream.read_exact(&mut echoed))
        .await
        .expect("no echo")
        .unwrap();
    assert_eq!(&echoed, b"ping through the tunnel");
}

#[tokio::test]
async fn a_route_table_form_and_relocated_answers() {
    let origin = origin(Arc::new(Notify::new())).await;
    let routes = format!(
        "[[route]]\nspec = \"::/only-gzip\"\nupstream = \"http://{origin}\"\n\
         compress = {{ algorithms = [\"gzip\"], min_size = \"8KiB\" }}\n\n\
         [[route]]\nspec = \"::/small-ok\"\nupstream = \"http://{origin}\"\n\
         compress = {{ algorithms = [\"br\", \"gzip\"], min_size = 0 }}\n\n\
         [[route]]\nspec = \"::/front\"\nupstream = \"http://{origin}/app\"\n\
         relocate = \"html\"\ncompress = true\n\n\
         [[route]]\nspec = \"::/plain\"\nupstream = \"http://{origin}\"\n\n"
    );
    let file = config(origin, &routes);
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    // 4 KiB is under this route's min_size: identity, though gzip is accepted.
    let res = fetch(&fd.addr, "/only-gzip/page", "gzip").await;
    assert_eq!(res.header("content-encoding"), None);
    assert_eq!(String::from_utf8(res.body).unwrap(), page());
    // min_size = 0: 100 bytes are compressed; br is preferred on a tie.
    let res = fetch(&fd.addr, "/small-ok/small", "gzip, br, zstd").await;
    assert_eq!(res.header("content-encoding"), Some("br"));
    assert_eq!(decode("br", &res.body), "x".repeat(100));
    // A route without `compress` sends identity.
    let res = fetch(&fd.addr, "/plain/page", "gzip").await;
    assert_eq!(res.header("content-encoding"), None);
    assert_eq!(res.header("vary"), None);
    // A relocated answer is compressed after it is rewritten.
    let res = fetch(&fd.addr, "/front/relocated", "gzip").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    let html = decode("gzip", &res.body);
    assert_eq!(
        html,
        format!("{}<a href=\"http://h/front/next\">next</a>\n", page())
    );
}

#[test]
fn config_errors_name_the_compress_key_paths() {
    let file = ConfigFile::new(
        r#"[[route]]
spec = "::/a"
upstream = "http://127.0.0.1:1"
compress = { algorithms = ["gzip", "lz4"], types = ["text"] }

[default]
upstream = "http://127.0.0.1:1"
compress = "yes"
"#,
    );
    let out = bin().args(["check", "-c"]).arg(&file.0).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let name = file.0.display().to_string();
    let expected = [
        format!("{name}: line 4: route[0].compress.algorithms[1]: unknown algorithm \"lz4\", expected zstd, br, gzip"),
        format!("{name}: line 4: route[0].compress.types[0]: not a media type pattern: \"text\" (expected type/subtype, type/*, */*+suffix or */*)"),
        format!("{name}: line 8: default.compress: expected true, false or a table {{ algorithms, min_size, types }}, got string"),
    ];
    assert_eq!(stderr.lines().collect::<Vec<_>>(), expected, "{stderr}");
}
