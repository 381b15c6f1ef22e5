//! Large and slow compressed answers: a gzip of about 1 MiB that decodes to 1 GiB is
//! cut off past `[server] max_decoded_body` with the front door's memory flat, and a
//! compressed page the origin sends in two parts reaches the client part by part.

use std::{net::SocketAddr, sync::OnceLock, time::Duration};

use bytes::Bytes;
use flate2::{Compress, Compression, Crc, FlushCompress};
use frontdoor::Body;
use http::Response;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::Notify,
};

use super::{config, dechunk, parse, request, Channel, HOST};
use crate::{get, start};

const MIB: usize = 1 << 20;

/// The start of the pages: a link to relocate, then text.
fn head(origin: SocketAddr) -> String {
    format!(r#"<html><body><a href="http://{origin}/real/x">x</a><p>"#)
}

fn head_relocated() -> String {
    format!(r#"<html><body><a href="http://{HOST}/app/x">x</a><p>"#)
}

const TAIL: &[u8] = b"</p></body></html>";

/// The gzip header (no name, no time, unknown OS).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// Raw deflate of `input`, ending on a byte boundary (a sync flush) or the end.
fn deflate(c: &mut Compress, input: &[u8], flush: FlushCompress) -> Vec<u8> {
    let mut out = Vec::new();
    let mut used = 0;
    loop {
        out.reserve(64 * 1024);
        let before = c.total_in();
        c.compress_vec(&input[used..], &mut out, flush).unwrap();
        used += usize::try_from(c.total_in() - before).unwrap();
        if used == input.len() && out.len() < out.capacity() {
            return out;
        }
    }
}

/// Who releases the slow page's second part.
fn release() -> &'static Notify {
    static RELEASE: OnceLock<Notify> = OnceLock::new();
    RELEASE.get_or_init(Notify::new)
}

/// The origin's large answers: `/real/bomb.html` (the head and 1 GiB of text in
/// about 1 MiB of gzip: after the first MiB, the deflate segment of one more MiB of
/// the same byte is valid again after itself) and `/real/slow.html` (the head and
/// 1 MiB of text, then, once released, the end).
pub(super) fn answer(path: &str, origin: SocketAddr) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let head = head(origin);
    let mib = vec![b'a'; MIB];
    let mut c = Compress::new(Compression::fast(), false);
    let mut first = GZIP_HEADER.to_vec();
    first.extend(deflate(
        &mut c,
        &[head.as_bytes(), &mib].concat(),
        FlushCompress::Sync,
    ));
    match path {
        "/real/bomb.html" => {
            let again = Bytes::from(deflate(&mut c, &mib, FlushCompress::Sync));
            tokio::spawn(async move {
                let mut ok = tx.send(first.into()).await.is_ok();
                for _ in 1..1024 {
                    ok = ok && tx.send(again.clone()).await.is_ok();
                }
            });
        }
        "/real/slow.html" => {
            let mut crc = Crc::new();
            crc.update(head.as_bytes());
            crc.update(&mib);
            crc.update(TAIL);
            let mut last = deflate(&mut c, TAIL, FlushCompress::Finish);
            last.extend(crc.sum().to_le_bytes());
            last.extend(crc.amount().to_le_bytes());
            tokio::spawn(async move {
                let _ = tx.send(first.into()).await;
                release().notified().await;
                let _ = tx.send(last.into()).await;
            });
        }
        _ => {
            let mut res = Response::new(Body::from("no such page"));
            *res.status_mut() = http::StatusCode::NOT_FOUND;
            return res;
        }
    }
    Response::builder()
        .header("content-type", "text/html")
        .header("content-encoding", "gzip")
        .body(Body::new(Channel(rx)))
        .unwrap()
}

/// The front door's peak resident memory so far (`VmHWM`), in bytes.
fn peak_memory(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

/// About 1 MiB of gzip that decodes to 1 GiB, to a client accepting only identity:
/// the client gets the relocated start, then a body cut off just short of the cap
/// (no last chunk), counted on `/metrics`; the front door's peak memory grows by far
/// less than the cap, so nothing was buffered whole.
#[tokio::test]
async fn a_gzip_bomb_is_cut_off_in_bounded_memory() {
    let origin = super::origin().await;
    let file = config(origin, "max_decoded_body = \"32MiB\"");
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let before = peak_memory(fd.child.id());
    let answer = request(
        &fd.addr,
        "GET",
        "/app/bomb.html",
        "Accept-Encoding: identity\r\n",
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-encoding"), None);
    assert!(!answer.complete, "a cut-off body has no last chunk");
    let len = answer.body.len();
    assert!(
        (24 * MIB..=32 * MIB).contains(&len),
        "{len} bytes before the cut"
    );
    assert!(answer.body.starts_with(head_relocated().as_bytes()));
    let growth = peak_memory(fd.child.id()).saturating_sub(before);
    assert!(growth < 12 * MIB, "peak memory grew by {growth} bytes");
    let admin = fd.admin.clone().unwrap();
    let (_, _, metrics) = get(&admin, "/metrics", "admin", "").await;
    assert!(
        metrics.contains("frontdoor_decoded_body_too_large_total{route=\"app\"} 1"),
        "{metrics}"
    );
    fd.wait_log("past [server] max_decoded_body");
}

/// A compressed page the origin sends in two parts: the first part reaches a client
/// accepting gzip relocated and decodable while the origin holds the second back
/// (the encoder is flushed while the upstream stalls), then the whole page ends well.
#[tokio::test]
async fn a_slow_compressed_page_streams() {
    let origin = super::origin().await;
    let file = config(origin, "");
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let mut stream = TcpStream::connect(&fd.addr).await.unwrap();
    let req = format!(
        "GET /app/slow.html HTTP/1.1\r\nHost: {HOST}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let want = [head_relocated().as_bytes(), &vec![b'a'; MIB]].concat();
    let mut raw = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    let first = loop {
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
            .await
            .expect("the first part did not arrive while the origin held the rest")
            .unwrap();
        assert!(n > 0, "closed early");
        raw.extend_from_slice(&buf[..n]);
        let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let (coded, _) = dechunk(&raw[at + 4..]);
        let decoded = partial_gunzip(&coded);
        if decoded.len() >= want.len() {
            break decoded;
        }
    };
    assert_eq!(first, want);
    release().notify_one();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .expect("no end")
        .unwrap();
    let answer = parse(&raw);
    assert!(answer.complete);
    assert_eq!(answer.header("content-encoding"), Some("gzip"));
    let all = super::decode("gzip", &answer.body, 4 * MIB).unwrap();
    assert_eq!(all, [&want[..], TAIL].concat());
}

/// What a gzip stream decodes to so far.
fn partial_gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut decoder = flate2::write::GzDecoder::new(&mut out);
    let _ = std::io::Write::write_all(&mut decoder, data);
    let _ = std::io::Write::flush(&mut decoder);
    drop(decoder);
    out
}
