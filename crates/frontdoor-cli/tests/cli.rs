//! End-to-end tests of the built `frontdoor` binary: config files on loopback ports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::{
    convert::Infallible,
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        mpsc, Arc,
    },
    time::Duration,
};

use frontdoor::{demo, serve::Server, Body};
use http::{Request, Response};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::Notify,
};

mod bodies;
mod codings;
mod compress;
mod destination;
mod discovery;
mod drain;
mod health;
mod limits;
mod names;
mod prefix;
mod rate_limit;
mod service;
mod telemetry;
mod upgrades;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A config file in the temp dir, removed on drop.
struct ConfigFile(PathBuf);

impl ConfigFile {
    fn new(text: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "frontdoor-test-{}-{}.toml",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::write(&path, text).unwrap();
        Self(path)
    }

    fn rewrite(&self, text: &str) {
        std::fs::write(&self.0, text).unwrap();
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A running `frontdoor serve`; killed on drop.
struct Running {
    child: Child,
    addr: String,
    admin: Option<String>,
    stdout: Vec<String>,
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
    fn wait_log(&self, needle: &str) -> String {
        loop {
            match self.stderr.recv_timeout(Duration::from_secs(20)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no log line with {needle:?}: {e}"),
            }
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} failed");
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_frontdoor"))
}

/// Starts `frontdoor serve` with `args`, listening on `127.0.0.1:0`.
fn start(args: &[&str]) -> Running {
    start_logging(args, "info")
}

/// [`start`] with `RUST_LOG` set to `filter`.
fn start_logging(args: &[&str], filter: &str) -> Running {
    let mut child = bin()
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", filter)
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
    let mut lines = Vec::new();
    let (mut addr, mut admin) = (None, None);
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(a) = line.strip_prefix("frontdoor listening on http://") {
            addr = Some(a.to_owned());
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
    Running {
        child,
        addr: addr.unwrap_or_else(|| panic!("no listen address in {lines:?}")),
        admin,
        stdout: lines,
        stderr: rx,
    }
}

/// One HTTP/1.1 exchange with `Connection: close`; returns status, head and body.
async fn exchange(addr: &str, head: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_string(&mut out))
        .await
        .expect("no answer")
        .unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

async fn get(addr: &str, path: &str, host: &str, extra: &str) -> (u16, String, String) {
    exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n"),
    )
    .await
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not json ({e}): {body:?}"))
}

fn header<'a>(doc: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    doc["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pair| pair[0] == name)
        .map(|pair| pair[1].as_str().unwrap())
}

/// An echo origin on a loopback port.
async fn echo_origin() -> SocketAddr {
    let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let addr = server.local_addrs().unwrap()[0];
    tokio::spawn(server.serve(demo::echo()));
    addr
}

#[tokio::test]
async fn serve_runs_the_embedded_demo() {
    let fd = start(&[]);
    let printed = fd.stdout.join("\n");
    assert!(printed.contains("routes (first match wins):"), "{printed}");
    assert!(printed.contains("builtin:echo"), "{printed}");
    assert!(printed.contains(&format!(
        "curl -s 'http://{}/hello?name=frontdoor'",
        fd.addr
    )));

    let (status, _, body) = get(
        &fd.addr,
        "/hello?name=frontdoor",
        "localhost",
        "Cookie: a=1\r\n",
    )
    .await;
    assert_eq!(status, 200);
    let doc = json(&body);
    assert_eq!(doc["method"], "GET");
    assert_eq!(doc["path"], "/hello");
    assert_eq!(doc["query"], "name=frontdoor");
    assert_eq!(doc["body_length"], 0);
    assert_eq!(header(&doc, "x-frontdoor"), Some("demo"));
    assert_eq!(header(&doc, "cookie"), None);
    assert_eq!(header(&doc, "x-forwarded-for"), Some("127.0.0.1"));

    let (status, head, _) = get(&fd.addr, "/redirect/somewhere", &fd.addr, "").await;
    assert_eq!(status, 302, "{head}");
    assert!(
        head.contains(&format!("location: http://{}/landing", fd.addr)),
        "{head}"
    );
    assert!(
        head.contains("set-cookie: demo=1; Path=/; HttpOnly"),
        "{head}"
    );
}

#[test]
fn check_accepts_a_valid_file() {
    let file = ConfigFile::new(
        "[[route]]\nspec = \"::/a\"\nupstream = \"http://127.0.0.1:1\"\n\n[default]\nupstream = \"builtin:echo\"\n",
    );
    let out = bin().args(["check", "-c"]).arg(&file.0).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        format!("{}: ok (1 route and a default)\n", file.0.display())
    );
}

#[test]
fn check_reports_every_error_with_its_line() {
    let file = ConfigFile::new(
        r#"[server]
listen = "127.0.0.1:nope"

[[route]]
spec = "bad host::/"
upstream = "http://127.0.0.1:1"

[[route]]
spec = "::/b"
upstream = "ftp://x"
timeouts = { connect = "soon" }
"#,
    );
    let out = bin().args(["check", "-c"]).arg(&file.0).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    let name = file.0.display().to_string();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].starts_with(&format!("{name}: line 2: server.listen[0]: not an ip:port")),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "{name}: line 10: route[1].upstream: scheme `ftp` is not supported"
        )),
        "{stderr}"
    );
    assert!(
        lines[2].starts_with(&format!(
            "{name}: line 11: route[1].timeouts.connect: not a duration"
        )),
        "{stderr}"
    );

    // Syntax and unknown keys.
    file.rewrite("[server]\nlisten = [\"127.0.0.1:1\"]\nlisen = 1\n");
    let out = bin().args(["check", "-c"]).arg(&file.0).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(": line 3: unknown field `lisen`"),
        "{stderr}"
    );

    // Spec errors come from the router, with the route's line.
    file.rewrite("[[route]]\nupstream = \"http://h:1\"\nspec = \"bad host::/\"\n");
    let out = bin().args(["check", "-c"]).arg(&file.0).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(": line 3: route[0].spec: "), "{stderr}");
    assert!(stderr.contains("bad host"), "{stderr}");
}

#[test]
fn the_library_builds_what_the_binary_prints() {
    let file = ConfigFile::new(
        "[[route]]\nspec = \"::/a\"\nupstream = [\"http://127.0.0.1:1\", \"http://127.0.0.1:2\"]\n\n[default]\nupstream = \"builtin:echo\"\n",
    );
    let built = frontdoor_cli::compile(&file.0).unwrap();
    let out = bin().args(["routes", "-c"]).arg(&file.0).output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{}\n", built.table())
    );

    file.rewrite("[[route]]\nspec = \"::/a\"\nupstream = \"http://127.0.0.1:1\"\nhost = \"a b\"\n");
    let errors = frontdoor_cli::compile(&file.0).unwrap_err();
    let out = bin().args(["check", "-c"]).arg(&file.0).output().unwrap();
    let name = file.0.display();
    let printed: Vec<String> = errors.iter().map(|e| format!("{name}: {e}")).collect();
    assert_eq!(
        String::from_utf8(out.stderr)
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        printed
    );
    assert_eq!(errors.iter().next().unwrap().path(), "route[0].host");
}

#[test]
fn routes_prints_the_table_in_match_order() {
    let file = ConfigFile::new(
        r#"[[route]]
spec = "www.example.com::/svn"
upstream = "http://127.0.0.1:8081/repos"
cleanup = { "-/" = "/x" }

[[route]]
regex = '^api\.example\.com:[0-9]+:(?P<pathinfo>/v1)'
upstream = ["http://127.0.0.1:9001", "http://127.0.0.1:9002"]

[not_found]
status = 404
body = "nothing here"
"#,
    );
    let out = bin().args(["routes", "-c"]).arg(&file.0).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[0].starts_with("index  name       spec  "), "{stdout}");
    assert!(
        lines[1].starts_with("0 ") && lines[1].contains("www.example.com::/svn"),
        "{stdout}"
    );
    assert!(
        lines[1].contains("http://127.0.0.1:8081/repos")
            && lines[1].contains("-/=/x")
            && lines[1].ends_with(" -"),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("1 ") && lines[2].contains("regex ^api"),
        "{stdout}"
    );
    assert!(
        lines[3].contains("(not found)") && lines[3].contains("\"nothing here\""),
        "{stdout}"
    );
}

#[tokio::test]
async fn config_keys_change_behaviour() {
    let origin = echo_origin().await;
    // Accepts and never answers: response timeouts.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let file = ConfigFile::new(&format!(
        r#"[server]
server_name = "fallback.example"
admin = "127.0.0.1:0"

[resolve]
trusted_proxies = ["127.0.0.1/32"]

[[route]]
spec = "shop.example.com::/"
upstream = "http://{origin}/shop"

[[route]]
spec = "::/api"
upstream = "http://{origin}"
host = "preserve"
cleanup = {{ "HTTP_X_SECRET" = "None", "HTTP_X_ADDED" = "yes" }}

[[route]]
spec = "::/fixed"
upstream = "http://{origin}"
host = "backend.internal:8080"

[[route]]
spec = "::/slow"
upstream = "http://{silent_addr}"
timeouts = {{ response = "300ms" }}

[[route]]
spec = "::/refused"
upstream = "http://127.0.0.1:9"

[[route]]
spec = "fallback.example::/"
upstream = "http://{origin}/fb"

[not_found]
status = 410
body = "gone fishing"
"#
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let admin = fd.admin.clone().expect("admin address printed");

    // Prefix consumption, preserve-host and the cleanup filter.
    let (status, _, body) = get(&fd.addr, "/api/users?x=1", "a.example", "X-Secret: s\r\n").await;
    assert_eq!(status, 200, "{body}");
    let doc = json(&body);
    assert_eq!(doc["path"], "/users");
    assert_eq!(doc["query"], "x=1");
    assert_eq!(header(&doc, "host"), Some("a.example"));
    assert_eq!(header(&doc, "x-secret"), None);
    assert_eq!(header(&doc, "x-added"), Some("yes"));

    // Literal host policy; default policy sends the upstream authority.
    let (_, _, body) = get(&fd.addr, "/fixed", "a.example", "").await;
    assert_eq!(header(&json(&body), "host"), Some("backend.internal:8080"));

    // Trusted proxy (the test is 127.0.0.1): X-Forwarded-Host picks the virtual host;
    // its X-Real-IP and X-Original-URL pass as they came.
    let (status, _, body) = get(
        &fd.addr,
        "/cart",
        "a.example",
        "X-Forwarded-Host: shop.example.com\r\nX-Real-IP: 192.0.2.9\r\nX-Original-URL: /cart\r\n",
    )
    .await;
    assert_eq!(status, 200);
    let doc = json(&body);
    assert_eq!(doc["path"], "/shop/cart");
    assert_eq!(header(&doc, "host"), Some(origin.to_string().as_str()));
    assert_eq!(header(&doc, "x-real-ip"), Some("192.0.2.9"));
    assert_eq!(header(&doc, "x-original-url"), Some("/cart"));

    // HTTP/1.0 without Host falls back to server_name.
    let (status, _, body) = exchange(&fd.addr, "GET /x HTTP/1.0\r\n\r\n").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["path"], "/fb/x");

    // Gateway errors: refused is 502, a silent upstream past the response timeout 504.
    let (status, _, _) = get(&fd.addr, "/refused", "a.example", "").await;
    assert_eq!(status, 502);
    let (status, _, _) = get(&fd.addr, "/slow", "a.example", "").await;
    assert_eq!(status, 504);

    // not_found answers a miss.
    let (status, head, body) = get(&fd.addr, "/nothing", "a.example", "").await;
    assert_eq!(status, 410, "{head}");
    assert_eq!(body, "gone fishing", "sent byte for byte");

    // The admin listener counts what was sent.
    let (status, _, metrics) = get(&admin, "/metrics", "admin", "").await;
    assert_eq!(status, 200);
    for want in [
        r#"frontdoor_requests_total{route="route[1]",status="2xx"} 1"#,
        r#"frontdoor_requests_total{route="route[4]",status="5xx"} 1"#,
        r#"frontdoor_requests_total{route="route[3]",status="5xx"} 1"#,
        r#"frontdoor_requests_total{route="not_found",status="4xx"} 1"#,
        r#"frontdoor_upstream_errors_total{kind="connect"} 1"#,
        r#"frontdoor_upstream_errors_total{kind="head_timeout"} 1"#,
        "frontdoor_in_flight_requests 0",
    ] {
        assert!(metrics.contains(want), "missing {want:?} in\n{metrics}");
    }
    let (status, _, routes) = get(&admin, "/routes", "admin", "").await;
    assert_eq!(status, 200);
    assert!(routes.contains("shop.example.com::/"), "{routes}");
    let (status, _, _) = get(&admin, "/healthz", "admin", "").await;
    assert_eq!(status, 200);

    // One access-log line per request.
    let line = fd.wait_log("frontdoor::access");
    assert!(line.contains("method=GET"), "{line}");
}

#[tokio::test]
async fn untrusted_peers_cannot_pick_the_virtual_host() {
    let origin = echo_origin().await;
    let file = ConfigFile::new(&format!(
        "[[route]]\nspec = \"shop.example.com::/\"\nupstream = \"http://{origin}/shop\"\n\n[default]\nupstream = \"http://{origin}/default\"\n"
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let (_, _, body) = get(
        &fd.addr,
        "/cart",
        "a.example",
        "X-Forwarded-Host: shop.example.com\r\nX-Forwarded-For: 1.2.3.4\r\n\
         X-Real-IP: 1.2.3.4\r\nX-Original-URL: /admin\r\nX-HTTP-Method-Override: DELETE\r\n",
    )
    .await;
    let doc = json(&body);
    assert_eq!(doc["path"], "/default/cart");
    // The upstream sees the real peer, not the client's claim.
    assert_eq!(header(&doc, "x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(header(&doc, "x-real-ip"), Some("127.0.0.1"));
    assert_eq!(header(&doc, "x-original-url"), None);
    assert_eq!(header(&doc, "x-http-method-override"), None);
}

#[tokio::test]
async fn compat_mode_restores_wfront04_matching() {
    let origin = echo_origin().await;
    let strict = ConfigFile::new(&format!(
        "[[route]]\nspec = \"::/pok\"\nupstream = \"http://{origin}\"\n"
    ));
    let fd = start(&["-c", strict.0.to_str().unwrap()]);
    let (status, _, _) = get(&fd.addr, "/pokemon", "h", "").await;
    assert_eq!(status, 404, "strict prefixes match on segment boundaries");
    drop(fd);

    let compat = ConfigFile::new(&format!(
        "[[route]]\nspec = \"::/pok\"\nupstream = \"http://{origin}\"\n\n[compat]\nwfront04 = true\n"
    ));
    let fd = start(&["-c", compat.0.to_str().unwrap()]);
    let (status, _, body) = get(&fd.addr, "/pokemon", "h", "").await;
    assert_eq!(status, 200);
    // WFront's path info is "emon"; a URI path always starts with '/'.
    assert_eq!(json(&body)["path"], "/emon");
}

#[tokio::test]
async fn sighup_reload_swaps_routes_without_failing_in_flight_requests() {
    let arrived = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let (a, r) = (arrived.clone(), release.clone());
    let slow = Server::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let slow_addr = slow.local_addrs().unwrap()[0];
    tokio::spawn(slow.serve(tower::service_fn(move |_req: Request<Body>| {
        let (a, r) = (a.clone(), r.clone());
        async move {
            a.notify_one();
            r.notified().await;
            Ok::<_, Infallible>(Response::new(Body::from("old table")))
        }
    })));
    let origin = echo_origin().await;
    let file = ConfigFile::new(&format!("[default]\nupstream = \"http://{slow_addr}\"\n"));
    let fd = start(&["-c", file.0.to_str().unwrap()]);

    // A request is in flight on the old table...
    let addr = fd.addr.clone();
    let in_flight = tokio::spawn(async move { get(&addr, "/", "h", "").await });
    arrived.notified().await;

    // ...when the table is swapped.
    file.rewrite(&format!("[default]\nupstream = \"http://{origin}/new\"\n"));
    fd.signal("-HUP");
    fd.wait_log("config reloaded");
    let (status, _, body) = get(&fd.addr, "/x", "h", "").await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["path"], "/new/x");

    release.notify_one();
    let (status, _, body) = in_flight.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body, "old table");

    // A broken config is rejected and the previous one keeps serving.
    file.rewrite("[default]\nupstream = \"nope://\"\n");
    fd.signal("-HUP");
    fd.wait_log("config reload rejected");
    let (status, _, body) = get(&fd.addr, "/y", "h", "").await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["path"], "/new/y");
}

#[tokio::test]
async fn watch_reloads_when_the_file_changes() {
    let origin = echo_origin().await;
    let file = ConfigFile::new(&format!("[default]\nupstream = \"http://{origin}/one\"\n"));
    let fd = start(&["-c", file.0.to_str().unwrap(), "--watch"]);
    let (_, _, body) = get(&fd.addr, "/x", "h", "").await;
    assert_eq!(json(&body)["path"], "/one/x");
    // A different length guarantees the change is seen even within one mtime tick.
    file.rewrite(&format!(
        "[default]\nupstream = \"http://{origin}/second\"\n"
    ));
    fd.wait_log("config reloaded");
    let (_, _, body) = get(&fd.addr, "/x", "h", "").await;
    assert_eq!(json(&body)["path"], "/second/x");
}

#[tokio::test]
async fn json_log_format() {
    let file = ConfigFile::new("[default]\nupstream = \"builtin:echo\"\n");
    let fd = start(&["-c", file.0.to_str().unwrap(), "--log-format", "json"]);
    let line = fd.wait_log("listening");
    let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(doc["level"], "INFO");
    // Access lines are JSON too (through `tracing`, not the text fast path).
    let (status, _, _) = get(&fd.addr, "/x?q=1", "a.example", "").await;
    assert_eq!(status, 200);
    let line = fd.wait_log("frontdoor::access");
    let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(doc["target"], "frontdoor::access");
    assert_eq!(doc["fields"]["message"], "request");
    assert_eq!(doc["fields"]["target"], "/x?q=1");
    assert_eq!(doc["fields"]["status"], 200);
    assert_eq!(doc["fields"]["route"], "default");
    // Milliseconds with three decimals, as in the text format: a string.
    let duration = doc["fields"]["duration_ms"].as_str().unwrap();
    assert_eq!(
        duration.split_once('.').map(|(_, f)| f.len()),
        Some(3),
        "{line}"
    );
}

/// The text access line, written past `tracing`: the exact text after the time.
#[tokio::test]
async fn access_lines_are_exact_and_follow_rust_log() {
    let file = ConfigFile::new("[default]\nupstream = \"builtin:echo\"\n");
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let (status, _, body) = get(&fd.addr, "/x?q=%22", "a.example", "").await;
    assert_eq!(status, 200);
    let line = fd.wait_log("frontdoor::access");
    let (time, rest) = line.split_at(27);
    let shape = time
        .bytes()
        .zip("dddd-dd-ddTdd:dd:dd.ddddddZ".bytes())
        .all(|(c, want)| {
            if want == b'd' {
                c.is_ascii_digit()
            } else {
                c == want
            }
        });
    assert!(shape, "{line}");
    let (fixed, duration) = rest.rsplit_once(" duration_ms=").unwrap();
    // Milliseconds with three decimals: `1.147`.
    let (ms, fraction) = duration.split_once('.').unwrap();
    assert!(
        !ms.is_empty()
            && ms.bytes().all(|b| b.is_ascii_digit())
            && fraction.len() == 3
            && fraction.bytes().all(|b| b.is_ascii_digit()),
        "{line}"
    );
    let echoed = json(&body);
    let id = header(&echoed, "x-request-id").unwrap();
    let trace_id = &header(&echoed, "traceparent").unwrap()[3..35];
    assert_eq!(
        fixed,
        format!(
            "  INFO frontdoor::access: request method=GET target=/x?q=%22 \
             resolved=a.example:80:/x route=default upstream=builtin:echo request_id={id} \
             trace_id={trace_id} status=200 bytes={}",
            body.len()
        ),
        "{line}"
    );

    // `frontdoor::access=off` silences them, and only them.
    let quiet = start_logging(
        &["-c", file.0.to_str().unwrap()],
        "info,frontdoor::access=off",
    );
    let (status, _, _) = get(&quiet.addr, "/y", "a.example", "").await;
    assert_eq!(status, 200);
    quiet.signal("-HUP");
    loop {
        let line = quiet
            .stderr
            .recv_timeout(Duration::from_secs(20))
            .expect("no reload line");
        assert!(!line.contains("frontdoor::access"), "{line}");
        if line.contains("config reloaded") {
            break;
        }
    }
}

#[tokio::test]
async fn server_timeouts_from_the_config_apply() {
    let origin = echo_origin().await;
    let file = ConfigFile::new(&format!(
        "[server]\nworkers = 1\nheader_timeout = \"200ms\"\nbody_timeout = \"200ms\"\n\n[default]\nupstream = \"http://{origin}\"\n"
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);

    // A request head that never ends is cut off.
    let mut stream = TcpStream::connect(&fd.addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: h\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut got))
        .await
        .expect("slow head never cut off")
        .unwrap();
    assert!(!String::from_utf8_lossy(&got).contains("200 OK"));

    // A request body that stalls is given up on: 408, not a hang.
    let mut stream = TcpStream::connect(&fd.addr).await.unwrap();
    stream
        .write_all(
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc",
        )
        .await
        .unwrap();
    let mut got = String::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_string(&mut got))
        .await
        .expect("stalled body never given up on")
        .unwrap();
    assert!(got.starts_with("HTTP/1.1 408 "), "{got:?}");
}

/// `mirror = { .. }` sends a copy to the shadow (credentials and `strip_headers`
/// stripped, Host marked, under the shadow's base URL) while the primary answers, and
/// `/metrics` counts it.
#[tokio::test]
async fn mirror_shadows_requests_and_counts_them() {
    let origin = echo_origin().await;
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    let shadow = Server::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let shadow_addr = shadow.local_addrs().unwrap()[0];
    tokio::spawn(shadow.serve(tower::service_fn(move |req: Request<Body>| {
        let _ = seen_tx.send((
            req.uri().to_string(),
            req.headers().get("host").cloned(),
            req.headers().contains_key("authorization"),
            req.headers().contains_key("x-internal"),
        ));
        async { Ok::<_, Infallible>(Response::new(Body::from("shadow"))) }
    })));
    let file = ConfigFile::new(&format!(
        r#"[server]
admin = "127.0.0.1:0"

[[route]]
spec = "::/app"
upstream = "http://{origin}/base"
mirror = {{ upstream = "http://{shadow_addr}/shadow", sample = 1.0, compare = ["status"], strip_headers = ["X-Internal"] }}
"#
    ));
    let out = bin()
        .args(["routes", "-c", file.0.to_str().unwrap()])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains(&format!("mirror http://{shadow_addr}/shadow sample=1")),
        "{table}"
    );
    assert!(table.contains(" strip_headers=x-internal"), "{table}");
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let admin = fd.admin.clone().expect("admin address printed");

    let (status, _, body) = get(
        &fd.addr,
        "/app/x?q=1",
        "public.example",
        "Authorization: Basic eDp5\r\nX-Internal: 1\r\n",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["path"], "/base/x");
    assert_eq!(header(&json(&body), "x-internal"), Some("1"), "{body}");
    let (uri, host, authorization, internal) =
        tokio::time::timeout(Duration::from_secs(10), seen_rx.recv())
            .await
            .expect("the shadow got no copy")
            .unwrap();
    assert_eq!(uri, "/shadow/x?q=1");
    assert!(!authorization, "credentials reached the shadow");
    assert!(!internal, "a strip_headers header reached the shadow");
    let host = host.unwrap();
    assert!(host.to_str().unwrap().ends_with("-shadow"), "{host:?}");

    // Counted before the copy is sent, so visible once the shadow has it.
    let (_, _, metrics) = get(&admin, "/metrics", "admin", "").await;
    assert!(
        metrics.contains("frontdoor_mirror_requests_total{route=\"route[0]\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("frontdoor_mirror_skipped_total{route=\"route[0]\",reason=\"saturated\"} 0"),
        "{metrics}"
    );
    // A method that is not mirrored (POST) is skipped and counted by reason.
    let (status, _, _) = exchange(
        &fd.addr,
        "POST /app/y HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    let (_, _, metrics) = get(&admin, "/metrics", "admin", "").await;
    assert!(
        metrics.contains("frontdoor_mirror_skipped_total{route=\"route[0]\",reason=\"method\"} 1"),
        "{metrics}"
    );
}
