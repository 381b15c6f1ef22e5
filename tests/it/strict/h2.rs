//! HTTP/2 through `frontdoor::serve`: a `:path` with a `#fragment` is refused with a
//! 400 before the service sees it (the `http` crate would cut it at `#`:
//! `DELETE /dav/coll/#frag` would delete `/dav/coll/`), on h2c and on TLS with ALPN
//! `h2`, written as raw frames; the connection goes on serving clean requests; and a
//! real HTTP/2 client's requests (Huffman-coded, through the dynamic table) all pass
//! the wire scanner.

use std::{convert::Infallible, sync::Arc};

use bytes::Bytes;
use frontdoor::{
    serve::{
        tls::{CertResolver, CertSet, Certificate, TlsConfig},
        Server,
    },
    Body,
};
use frontdoor_core::proto::hpack::Decoder;
use frontdoor_tests::{
    bind_loopback, h2c,
    pki::Pki,
    spawn,
    tls::{alpn, client_config, connect},
    Running,
};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use parking_lot::Mutex;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};

use crate::stack::support::CLIENT_BOUND;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const ACK: u8 = 0x1;

/// What the service saw: `METHOD path?query` per request.
type Seen = Arc<Mutex<Vec<String>>>;

/// A server whose service records each request and answers `ok`.
async fn recording(server: Server) -> (Running, Seen) {
    let seen = Seen::default();
    let record = Arc::clone(&seen);
    let svc = tower::service_fn(move |req: Request<Body>| {
        let record = Arc::clone(&record);
        async move {
            let target = req.uri().path_and_query().map_or("", |pq| pq.as_str());
            record.lock().push(format!("{} {target}", req.method()));
            Ok::<_, Infallible>(Response::new(Body::from("ok")))
        }
    });
    (spawn(server, svc), seen)
}

/// A frame: header and payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut out = vec![len[1], len[2], len[3], kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A literal header field without indexing, new name, raw (not Huffman) strings.
fn literal(name: &str, value: &str) -> Vec<u8> {
    let mut out = vec![0x00, u8::try_from(name.len()).unwrap()];
    out.extend_from_slice(name.as_bytes());
    out.push(u8::try_from(value.len()).unwrap());
    out.extend_from_slice(value.as_bytes());
    out
}

/// An HTTP/2 client that writes frames by hand.
struct RawH2<S> {
    io: S,
    /// The server's header blocks, decoded in order.
    decoder: Decoder,
}

impl<S: AsyncRead + AsyncWrite + Unpin> RawH2<S> {
    /// Sends the preface and an empty SETTINGS.
    async fn open(mut io: S) -> Self {
        let mut hello = PREFACE.to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &[]));
        io.write_all(&hello).await.unwrap();
        Self {
            io,
            decoder: Decoder::new(4096),
        }
    }

    /// Sends a request without a body on `stream`.
    async fn request(&mut self, stream: u32, method: &str, path: &str) {
        let mut block = literal(":method", method);
        block.extend(literal(":scheme", "http"));
        block.extend(literal(":path", path));
        block.extend(literal(":authority", "app.test"));
        let headers = frame(HEADERS, END_HEADERS | END_STREAM, stream, &block);
        self.io.write_all(&headers).await.unwrap();
    }

    /// Reads frames until `stream`'s response has ended: its header fields and body.
    /// Acknowledges the server's SETTINGS on the way.
    async fn response(&mut self, stream: u32) -> (Vec<(String, String)>, Vec<u8>) {
        let (mut fields, mut body) = (Vec::new(), Vec::new());
        loop {
            let (kind, flags, id, payload) = self.frame().await;
            match kind {
                SETTINGS if flags & ACK == 0 => {
                    self.io
                        .write_all(&frame(SETTINGS, ACK, 0, &[]))
                        .await
                        .unwrap();
                }
                HEADERS => {
                    assert_ne!(flags & END_HEADERS, 0, "one frame holds the answer's head");
                    let used = self
                        .decoder
                        .decode(&payload, |name, value| {
                            if id == stream {
                                fields.push((
                                    String::from_utf8(name.to_vec()).unwrap(),
                                    String::from_utf8(value.to_vec()).unwrap(),
                                ));
                            }
                        })
                        .unwrap();
                    assert_eq!(used, payload.len());
                }
                DATA if id == stream => body.extend_from_slice(&payload),
                RST_STREAM | GOAWAY => panic!("frame {kind} on stream {id}: {payload:02x?}"),
                _ => {}
            }
            if id == stream && matches!(kind, HEADERS | DATA) && flags & END_STREAM != 0 {
                return (fields, body);
            }
        }
    }

    /// The next frame: type, flags, stream and payload.
    async fn frame(&mut self) -> (u8, u8, u32, Vec<u8>) {
        let read = async {
            let mut head = [0u8; 9];
            self.io.read_exact(&mut head).await.unwrap();
            let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
            let id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
            let mut payload = vec![0u8; len];
            self.io.read_exact(&mut payload).await.unwrap();
            (head[3], head[4], id, payload)
        };
        tokio::time::timeout(CLIENT_BOUND, read)
            .await
            .expect("a frame from the server")
    }
}

fn status(fields: &[(String, String)]) -> &str {
    fields
        .iter()
        .find(|(n, _)| n == ":status")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// The fragment request is refused, nothing reaches the service, and a clean
/// request on the same connection is served.
async fn fragment_then_clean<S: AsyncRead + AsyncWrite + Unpin>(io: S, seen: &Seen) {
    let mut client = RawH2::open(io).await;
    client.request(1, "DELETE", "/dav/coll/#frag").await;
    let (fields, body) = client.response(1).await;
    assert_eq!(status(&fields), "400", "{fields:?}");
    assert_eq!(body, b"fragment in request target\n");
    // HTTP/2 has no `Connection: close` (hyper drops it): the connection stays open.
    assert!(fields.iter().all(|(n, _)| n != "connection"), "{fields:?}");
    assert!(seen.lock().is_empty(), "{:?}", seen.lock());

    client.request(3, "DELETE", "/dav/coll/").await;
    let (fields, body) = client.response(3).await;
    assert_eq!(status(&fields), "200", "{fields:?}");
    assert_eq!(body, b"ok");
    assert_eq!(*seen.lock(), ["DELETE /dav/coll/"]);
}

#[tokio::test]
async fn an_h2c_path_with_a_fragment_is_400_and_the_connection_goes_on() {
    let (server, seen) = recording(bind_loopback(1).await).await;
    let stream = TcpStream::connect(server.addr()).await.unwrap();
    fragment_then_clean(stream, &seen).await;
    server.shutdown().await;
}

#[tokio::test]
async fn an_h2_path_with_a_fragment_over_tls_is_400() {
    let pki = Pki::new("test CA");
    let leaf = pki.leaf(&["app.test"]);
    let cert = Certificate::from_pem(leaf.chain_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap();
    let certs = CertResolver::new(CertSet::builder().cert(cert).build().unwrap());
    let server = bind_loopback(1)
        .await
        .bind_tls(
            &["127.0.0.1:0".parse().unwrap()],
            &TlsConfig::new(certs).unwrap(),
        )
        .await
        .unwrap();
    let addr = server.local_tls_addrs().unwrap()[0];
    let (server, seen) = recording(server).await;
    let stream = connect(addr, "app.test", client_config(&[pki.ca_der()], &[b"h2"]))
        .await
        .unwrap();
    assert_eq!(alpn(&stream).as_deref(), Some(&b"h2"[..]));
    fragment_then_clean(stream, &seen).await;
    server.shutdown().await;
}

#[tokio::test]
async fn an_http2_clients_requests_all_pass_the_wire_scanner() {
    // hyper's client codes strings with Huffman and indexes headers in its dynamic
    // table, evicting as it fills: every request must still match its verdict.
    let (server, seen) = recording(bind_loopback(1).await).await;
    let mut client = h2c(server.addr()).await;
    let mut want = Vec::new();
    for i in 0..200 {
        let path = format!(
            "/p{i}/{}?q={}&x=%2F-._~!$'()*+,;=:@{}",
            "seg/".repeat(i % 7),
            i * 7919,
            "z".repeat(i % 50)
        );
        let method = ["GET", "DELETE", "PUT", "PROPFIND"][i % 4];
        let req = Request::builder()
            .method(method)
            .uri(format!("http://app.test{path}"))
            .header("x-request", format!("{i}-{}", "v".repeat(i * 13 % 400)))
            .header("x-same", "always the same value")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let res = client.send_request(req).await.unwrap();
        let status = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            (status.as_u16(), &body[..]),
            (200, &b"ok"[..]),
            "{method} {path}"
        );
        want.push(format!("{method} {path}"));
    }
    assert_eq!(*seen.lock(), want);
    server.shutdown().await;
}
