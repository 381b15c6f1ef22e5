//! What the `wrk`-driven load benchmarks share: runtimes, `wrk` runs (parsed by
//! [`crate::wrk`]), the median of alternating rounds, and a private nginx.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    str::FromStr,
};

use crate::wrk::{self, Sample};

/// An environment variable parsed as `T`, else `default`.
pub fn env<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A multi-threaded runtime of `threads` threads named `name`.
pub fn runtime(threads: usize, name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()
        .unwrap()
}

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// === wrk ===

/// Runs `wrk --latency` against `url` with `conns` connections for `secs` seconds on
/// `threads` threads, sending `headers` (`"Name: value"`) with every request.
pub fn run_wrk(url: &str, conns: u32, secs: u64, threads: u32, headers: &[&str]) -> Sample {
    let mut cmd = Command::new("wrk");
    cmd.args([
        format!("-t{threads}"),
        format!("-c{conns}"),
        format!("-d{secs}s"),
        "--latency".to_owned(),
    ]);
    for header in headers {
        cmd.args(["-H", header]);
    }
    let out = cmd.arg(url).output().expect("wrk runs");
    wrk::parse(&String::from_utf8_lossy(&out.stdout))
}

/// The round with the median requests/s.
#[must_use]
pub fn median(mut runs: Vec<Sample>) -> Sample {
    runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    runs.get(runs.len() / 2).copied().unwrap_or_default()
}

// === nginx ===

/// A private nginx (2 worker processes, daemonised, everything under its own
/// directory), stopped on drop.
#[derive(Debug)]
pub struct Nginx {
    dir: PathBuf,
}

impl Nginx {
    /// Starts nginx with `http` as the body of its `http { }` block (upstreams and
    /// servers); `None` when nginx is missing or refuses the config.
    pub fn start(dir: &Path, http: &str) -> Option<Self> {
        let conf = format!(
            "worker_processes 2;\n\
             daemon on;\n\
             pid {dir}/nginx.pid;\n\
             error_log {dir}/error.log warn;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n\
               access_log off;\n\
               client_body_temp_path {dir}/body;\n\
               proxy_temp_path {dir}/proxy;\n\
               fastcgi_temp_path {dir}/fastcgi;\n\
               uwsgi_temp_path {dir}/uwsgi;\n\
               scgi_temp_path {dir}/scgi;\n\
               {http}\n\
             }}\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let this = Self {
            dir: dir.to_owned(),
        };
        let started = this.command().status().ok()?.success();
        // A failed start leaves nothing to stop.
        started.then_some(this)
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("nginx");
        cmd.arg("-c")
            .arg(self.dir.join("nginx.conf"))
            .arg("-p")
            .arg(&self.dir)
            .stderr(Stdio::null());
        cmd
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.command().args(["-s", "stop"]).status();
    }
}

/// The `upstream backend` block: `upstream` with 256 keepalive connections.
#[must_use]
pub fn nginx_upstream(upstream: SocketAddr) -> String {
    format!("upstream backend {{ server {upstream}; keepalive 256; }}")
}

/// A `location /` proxying to `backend` with upstream keepalive and the forwarding
/// headers frontdoor writes by default.
pub const NGINX_PROXY_LOCATION: &str = "location / {
        proxy_pass http://backend;
        proxy_http_version 1.1;
        proxy_set_header Connection \"\";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }";
