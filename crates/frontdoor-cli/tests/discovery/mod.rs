//! DNS discovery through the built binary, against a name server on loopback that
//! answers SRV records (targets and ports) and A records: traffic reaches every
//! address found; when the answer changes, all traffic moves within `refresh` plus a
//! second without a failed request; when the server stops, the last addresses keep
//! serving.

use std::{
    convert::Infallible,
    net::{Ipv4Addr, SocketAddr},
    sync::{
        atomic::{AtomicU16, Ordering},
        Arc,
    },
    time::Duration,
};

use frontdoor::{serve::Server, Body};
use hickory_proto::{
    op::{Message, MessageType, OpCode},
    rr::{
        rdata::{A, SRV},
        Name, RData, Record, RecordType,
    },
    serialize::binary::{BinDecodable, BinEncodable},
};
use http::{header, Request, Response};
use parking_lot::Mutex;
use tokio::{net::UdpSocket, task::JoinHandle, time::Instant};

use super::{get, start, ConfigFile};

/// An origin whose `/healthz` answers a settable status.
struct Checked {
    addr: SocketAddr,
    health: Arc<AtomicU16>,
}

/// Origins `a` on 127.0.0.1 and `b` on 127.0.0.2, on one port (a few tries to find
/// one free on both).
async fn origins_on_one_port() -> (Checked, Checked) {
    for _ in 0..10 {
        let a = checked_origin("127.0.0.1:0".parse().unwrap(), "a")
            .await
            .unwrap();
        let b_addr = SocketAddr::new("127.0.0.2".parse().unwrap(), a.addr.port());
        if let Ok(b) = checked_origin(b_addr, "b").await {
            return (a, b);
        }
    }
    panic!("no port free on both 127.0.0.1 and 127.0.0.2");
}

async fn checked_origin(addr: SocketAddr, name: &'static str) -> std::io::Result<Checked> {
    let server = Server::bind(&[addr]).await?;
    let addr = server.local_addrs()?[0];
    let health = Arc::new(AtomicU16::new(200));
    let status = Arc::clone(&health);
    let svc = tower::service_fn(move |req: Request<Body>| {
        let mut res = Response::new(Body::from(name));
        if req.uri().path() == "/healthz" {
            *res.status_mut() = http::StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap();
        }
        std::future::ready(Ok::<_, Infallible>(res))
    });
    tokio::spawn(server.serve(svc));
    Ok(Checked { addr, health })
}

/// Polls the admin `/metrics` (bounded) until `frontdoor_upstream_healthy` of the
/// member at `found` reads `want`.
async fn wait_healthy(admin: &str, found: SocketAddr, want: &str) {
    let start = Instant::now();
    let needle = format!("({found})\"}} {want}");
    loop {
        let (_, _, metrics) = get(admin, "/metrics", "admin", "").await;
        if metrics
            .lines()
            .any(|l| l.starts_with("frontdoor_upstream_healthy{") && l.ends_with(&needle))
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{found} never {want}:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An origin on `ip` answering `200` with its name and the `Host` it was sent.
async fn origin(ip: &str, name: &'static str) -> SocketAddr {
    let server = Server::bind(&[format!("{ip}:0").parse().unwrap()])
        .await
        .unwrap();
    let addr = server.local_addrs().unwrap()[0];
    let svc = tower::service_fn(move |req: Request<Body>| {
        let host = req.headers()[header::HOST].to_str().unwrap().to_owned();
        let res = Response::new(Body::from(format!("{name} {host}")));
        std::future::ready(Ok::<_, Infallible>(res))
    });
    tokio::spawn(server.serve(svc));
    addr
}

/// A name server on loopback: the SRV records of any name are `t{i}.web.test.` on
/// each address's port, `t{i}.web.test.` has an A record of the address's IP, and
/// any other name the A records of every address; every TTL is 1 s. The answer can be changed; the server stops when aborted.
struct NameServer {
    addr: SocketAddr,
    answer: Arc<Mutex<Vec<SocketAddr>>>,
    task: JoinHandle<()>,
}

impl NameServer {
    async fn start(answer: Vec<SocketAddr>) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let answer = Arc::new(Mutex::new(answer));
        let current = Arc::clone(&answer);
        let task = tokio::spawn(async move {
            let mut buf = vec![0; 4096];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let Ok(query) = Message::from_bytes(&buf[..n]) else {
                    continue;
                };
                let reply = respond(&query, &current.lock());
                let _ = socket.send_to(&reply.to_bytes().unwrap(), peer).await;
            }
        });
        Self { addr, answer, task }
    }

    fn set(&self, answer: Vec<SocketAddr>) {
        *self.answer.lock() = answer;
    }
}

/// The reply to `query` when the addresses are `answer`.
fn respond(query: &Message, answer: &[SocketAddr]) -> Message {
    let mut reply = Message::new();
    reply
        .set_id(query.id())
        .set_message_type(MessageType::Response)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(query.recursion_desired())
        .set_recursion_available(true)
        .set_authoritative(true);
    reply.add_queries(query.queries().to_vec());
    for q in query.queries() {
        let name = q.name().clone();
        match q.query_type() {
            RecordType::SRV => {
                for (i, addr) in answer.iter().enumerate() {
                    let target = Name::from_ascii(format!("t{i}.web.test.")).unwrap();
                    let srv = SRV::new(0, 10, addr.port(), target);
                    reply.add_answer(Record::from_rdata(name.clone(), 1, RData::SRV(srv)));
                }
            }
            RecordType::A => {
                let label = name.to_ascii();
                let index = label
                    .strip_prefix('t')
                    .and_then(|rest| rest.split('.').next())
                    .and_then(|i| i.parse::<usize>().ok());
                let chosen = match index {
                    Some(i) => answer.get(i..=i).unwrap_or_default(),
                    None => answer,
                };
                for addr in chosen {
                    if let SocketAddr::V4(addr) = addr {
                        let ip: Ipv4Addr = *addr.ip();
                        reply.add_answer(Record::from_rdata(name.clone(), 1, RData::A(A(ip))));
                    }
                }
            }
            _ => {}
        }
    }
    reply
}

/// One request through the front door: which origin answered, and the `Host` it saw.
async fn which(fd: &str) -> (String, String) {
    let (status, head, body) = get(fd, "/x", "public.example", "").await;
    assert_eq!(status, 200, "{head}\n{body}");
    let (name, host) = body.split_once(' ').unwrap();
    (name.to_owned(), host.to_owned())
}

// The log is read with blocking waits: the origins run on other threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovered_addresses_follow_the_name_server() {
    let a = origin("127.0.0.1", "a").await;
    let b = origin("127.0.0.2", "b").await;
    let dns = NameServer::start(vec![a, b]).await;
    let file = ConfigFile::new(&format!(
        r#"[resolve]
dns_servers = ["{}"]

[[route]]
spec = "::/"
upstream = "http://web.test"
discovery = {{ dns = "srv", refresh = "1s" }}
"#,
        dns.addr
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    fd.wait_log("upstream addresses changed");

    // Both addresses take traffic, and each sees the name in Host.
    let (mut seen_a, mut seen_b) = (false, false);
    for _ in 0..60 {
        let (name, host) = which(&fd.addr).await;
        assert_eq!(host, "web.test");
        seen_a |= name == "a";
        seen_b |= name == "b";
        if seen_a && seen_b {
            break;
        }
    }
    assert!(seen_a && seen_b, "a: {seen_a}, b: {seen_b}");

    // Only b: within refresh + 1 s every request goes there, none failing meanwhile.
    dns.set(vec![b]);
    let changed = Instant::now();
    let mut last_a = None;
    while changed.elapsed() < Duration::from_secs(3) {
        let (name, _) = which(&fd.addr).await;
        if name == "a" {
            last_a = Some(changed.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        last_a.is_none_or(|t| t <= Duration::from_secs(2)),
        "a still answered {last_a:?} after the change"
    );

    // The name server stops: the last addresses keep serving.
    dns.task.abort();
    fd.wait_log("DNS lookup failed: the last addresses stay");
    for _ in 0..20 {
        assert_eq!(which(&fd.addr).await.0, "b");
    }
    fd.wait_log("DNS lookup failed: the last addresses stay");
    for _ in 0..20 {
        assert_eq!(which(&fd.addr).await.0, "b");
    }
}

/// `dns = "a"`: every address of the name, on the URL's port; each address has its
/// own health checks, and a failing one leaves the set while the other serves.
// The log is read with blocking waits: the origins run on other threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_address_of_a_name_is_checked_on_its_own() {
    let (a, b) = origins_on_one_port().await;
    let dns = NameServer::start(vec![a.addr, b.addr]).await;
    let file = ConfigFile::new(&format!(
        r#"[server]
admin = "127.0.0.1:0"

[resolve]
dns_servers = ["{}"]

[[route]]
spec = "::/"
upstream = "http://web.test:{}"
discovery = {{ dns = "a", refresh = "1s" }}
health_check = {{ path = "/healthz", interval = "100ms", unhealthy = 1, healthy = 1 }}
"#,
        dns.addr,
        a.addr.port()
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let admin = fd.admin.clone().expect("admin address printed");
    wait_healthy(&admin, a.addr, "1").await;
    wait_healthy(&admin, b.addr, "1").await;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..60 {
        let (status, _, body) = get(&fd.addr, "/x", "public.example", "").await;
        assert_eq!(status, 200);
        seen.insert(body);
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen.len(), 2, "{seen:?}");

    b.health.store(500, Ordering::SeqCst);
    wait_healthy(&admin, b.addr, "0").await;
    for _ in 0..20 {
        let (status, _, body) = get(&fd.addr, "/x", "public.example", "").await;
        assert_eq!((status, body.as_str()), (200, "a"));
    }
    a.health.store(500, Ordering::SeqCst);
    b.health.store(200, Ordering::SeqCst);
    wait_healthy(&admin, b.addr, "1").await;
    wait_healthy(&admin, a.addr, "0").await;
    for _ in 0..20 {
        let (status, _, body) = get(&fd.addr, "/x", "public.example", "").await;
        assert_eq!((status, body.as_str()), (200, "b"));
    }
    drop(dns);
}
