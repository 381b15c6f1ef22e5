//! Support for the TLS tests of the binary: a scratch directory with generated
//! certificates and the config, the running binary, TLS clients and origins.
#![allow(dead_code, reason = "each test uses a subset")]

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        mpsc, Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use frontdoor::{
    demo,
    serve::{
        tls::{CertResolver, CertSet, Certificate, TlsConfig},
        Server,
    },
};
use frontdoor_tests::{
    pki::Leaf,
    tls::{client_config, connect, h1_over, h2_over},
};
use http::{Request, Response, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use rustls::{pki_types::CertificateDer, ClientConfig};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory for certificates and the config file, removed on drop.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "frontdoor-tls-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub(crate) fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    /// Writes `leaf` as `{name}.pem` (chain) and `{name}.key`.
    pub(crate) fn leaf(&self, name: &str, leaf: &Leaf) {
        self.write(&format!("{name}.pem"), &leaf.chain_pem);
        self.write(&format!("{name}.key"), &leaf.key_pem);
    }

    /// Writes the config file and returns its path.
    pub(crate) fn config(&self, text: &str) -> PathBuf {
        let path = self.path("frontdoor.toml");
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `frontdoor` binary.
pub(crate) fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_frontdoor"))
}

/// A running `frontdoor serve`, killed on drop.
pub(crate) struct Running {
    child: Child,
    pub(crate) http: Option<SocketAddr>,
    pub(crate) https: SocketAddr,
    pub(crate) admin: Option<String>,
    pub(crate) stdout: Vec<String>,
    stderr: mpsc::Receiver<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// Waits (bounded) for a log line containing `needle`.
    pub(crate) fn wait_log(&self, needle: &str) -> String {
        loop {
            match self.stderr.recv_timeout(Duration::from_secs(20)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => eprintln!("{line}"),
                Err(e) => panic!("no log line with {needle:?}: {e}"),
            }
        }
    }

    pub(crate) fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} failed");
    }
}

/// Starts `frontdoor serve -c config` (plus `args`) and waits until it is ready.
pub(crate) fn start(config: &Path, args: &[&str]) -> Running {
    let mut child = bin()
        .arg("serve")
        .arg("-c")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut http, mut https, mut admin) = (None, None, None);
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(a) = line.strip_prefix("frontdoor listening on http://") {
            http = Some(a.parse().unwrap());
        }
        if let Some(a) = line.strip_prefix("frontdoor listening on https://") {
            https = Some(a.parse().unwrap());
        }
        if let Some(a) = line.strip_prefix("admin listening on http://") {
            admin = Some(a.split(' ').next().unwrap().to_owned());
        }
        let ready = line == "ready";
        lines.push(line);
        if ready {
            break;
        }
    }
    let Some(https) = https else {
        let _ = child.kill();
        let stderr: Vec<String> = rx.iter().collect();
        panic!("no https address in {lines:?}\n{stderr:#?}");
    };
    Running {
        https,
        child,
        http,
        admin,
        stdout: lines,
        stderr: rx,
    }
}

/// A GET of `uri` with `host` (HTTP/1.1; for HTTP/2 the URI's authority is used).
pub(crate) fn get(uri: &str, host: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .header("host", host)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// One request over a new HTTP/1.1-over-TLS connection presenting `sni`.
pub(crate) async fn https_h1(
    addr: SocketAddr,
    sni: &str,
    config: Arc<ClientConfig>,
    req: Request<Full<Bytes>>,
) -> Response<Incoming> {
    let stream = connect(addr, sni, config).await.unwrap();
    h1_over(stream).await.send_request(req).await.unwrap()
}

/// One request over a new HTTP/2-over-TLS connection presenting `sni`.
pub(crate) async fn https_h2(
    addr: SocketAddr,
    sni: &str,
    config: Arc<ClientConfig>,
    req: Request<Full<Bytes>>,
) -> Response<Incoming> {
    let stream = connect(addr, sni, config).await.unwrap();
    let res = h2_over(stream).await.send_request(req).await.unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    res
}

/// A client trusting `ca` and offering `alpn`.
pub(crate) fn trusting(ca: &CertificateDer<'static>, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    client_config(std::slice::from_ref(ca), alpn)
}

/// The body as JSON.
pub(crate) async fn json(res: Response<Incoming>) -> serde_json::Value {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not json ({e}): {:?}", String::from_utf8_lossy(&bytes)))
}

/// The value of header `name` in an echo document.
pub(crate) fn header<'a>(doc: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    doc["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pair| pair[0] == name)
        .map(|pair| pair[1].as_str().unwrap())
}

/// A plaintext echo origin on loopback.
pub(crate) async fn echo_origin() -> SocketAddr {
    let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let addr = server.local_addrs().unwrap()[0];
    tokio::spawn(server.serve(demo::echo()));
    addr
}

/// An echo origin behind TLS with `leaf`, handshaking with `config` (default:
/// frontdoor's: ALPN h2 and http/1.1, no client authentication).
pub(crate) async fn tls_origin(leaf: &Leaf, config: Option<TlsConfig>) -> SocketAddr {
    let config = config.unwrap_or_else(|| TlsConfig::new(resolver(leaf)).unwrap());
    let server = Server::bind(&[])
        .await
        .unwrap()
        .bind_tls(&["127.0.0.1:0".parse().unwrap()], &config)
        .await
        .unwrap();
    let addr = server.local_tls_addrs().unwrap()[0];
    tokio::spawn(server.serve(demo::echo()));
    addr
}

/// A certificate resolver serving `leaf` alone.
pub(crate) fn resolver(leaf: &Leaf) -> CertResolver {
    let cert = Certificate::from_pem(leaf.chain_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap();
    CertResolver::new(CertSet::builder().cert(cert).build().unwrap())
}
