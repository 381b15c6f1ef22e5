//! Runs the built `frontdoor` binary and talks to its embedded demo over loopback.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Kills the child when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `frontdoor serve --listen 127.0.0.1:0` and returns the address it printed
/// plus everything it printed before serving.
fn start() -> (Running, String, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdoor"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut lines = Vec::new();
    let mut addr = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(a) = line.strip_prefix("frontdoor listening on http://") {
            addr = Some(a.to_owned());
        }
        let done = line.contains("/redirect/somewhere");
        lines.push(line);
        if done {
            break;
        }
    }
    (running, addr.expect("no listen address printed"), lines)
}

async fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn serve_runs_the_demo_and_prints_how_to_use_it() {
    let (_child, addr, lines) = start();
    let printed = lines.join("\n");
    assert!(printed.contains("routes (first match wins):"), "{printed}");
    assert!(printed.contains("builtin:echo"), "{printed}");
    assert!(printed.contains(&format!("curl -s 'http://{addr}/hello?name=frontdoor'")));

    let res = http_get(&addr, "/hello?name=frontdoor").await;
    assert!(res.starts_with("HTTP/1.1 200 OK\r\n"), "{res}");
    let body = res.split("\r\n\r\n").nth(1).unwrap();
    let doc: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(doc["method"], "GET");
    assert_eq!(doc["path"], "/hello");
    assert_eq!(doc["query"], "name=frontdoor");
    assert_eq!(doc["body_length"], 0);

    let res = http_get(&addr, "/redirect/somewhere").await;
    assert!(res.starts_with("HTTP/1.1 302 Found\r\n"), "{res}");
    assert!(
        res.contains(&format!("location: http://{addr}/redirect/landing\r\n")),
        "{res}"
    );
    assert!(
        res.contains("set-cookie: demo=1; Path=/redirect; HttpOnly\r\n"),
        "{res}"
    );
    let res = http_get(&addr, "/redirect/landing").await;
    assert!(res.starts_with("HTTP/1.1 200 OK\r\n"), "{res}");
}
