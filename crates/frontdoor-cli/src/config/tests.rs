//! Tests of parsing and validation.

use std::{net::SocketAddr, time::Duration};

use frontdoor_upstream::HostPolicy;

use super::*;

fn parse(src: &str) -> Result<Config, ConfigErrors> {
    src.parse()
}

fn errors(src: &str) -> Vec<String> {
    parse(src)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn full_example_parses() {
    let src = r#"
[server]
listen = ["127.0.0.1:8080", "127.0.0.1:8443"]
server_name = "localhost"
admin = "127.0.0.1:9901"
workers = 3
header_timeout = "5s"
body_timeout = "20s"
drain_timeout = "1m"
max_connections = 500

[resolve]
trusted_proxies = ["10.0.0.0/8", "192.0.2.7"]
schemes = { http = [80, 8080], https = [443, 8443] }

[[route]]
spec = "www.example.com:http:/svn"
upstream = "http://127.0.0.1:8081/repos"
relocate = "none"
host = "upstream"
cleanup = { "-/" = "/x", "HTTP_X_DEBUG" = "None" }
timeouts = { connect = "2s", response = "30s", idle = "60s" }

[[route]]
regex = '^[^:]*:[0-9]+:(?P<pathinfo>/api)'
upstream = ["http://127.0.0.1:9001", "http://127.0.0.1:9002"]
host = "preserve"

[default]
upstream = "builtin:echo"

[not_found]
status = 410
body = "Gone"

[compat]
wfront04 = true
"#;
    let c = parse(src).unwrap();
    assert_eq!(c.server.listen.len(), 2);
    assert_eq!(c.server.server_name.as_deref(), Some("localhost"));
    assert_eq!(c.server.admin, Some("127.0.0.1:9901".parse().unwrap()));
    assert_eq!(c.server.workers, Some(3));
    assert_eq!(c.server.header_timeout, Some(Duration::from_secs(5)));
    assert_eq!(c.server.body_timeout, Some(Duration::from_secs(20)));
    assert_eq!(c.server.drain_timeout, Some(Duration::from_secs(60)));
    assert_eq!(c.server.max_connections, Some(500));
    assert_eq!(c.resolve.trusted_proxies.len(), 2);
    assert_eq!(c.resolve.schemes.ports("https"), Some(&[443, 8443][..]));
    assert_eq!(c.routes.len(), 2);
    let r0 = &c.routes[0];
    assert_eq!(
        r0.matcher,
        Matcher::Spec("www.example.com:http:/svn".into())
    );
    assert_eq!(r0.line, 17);
    assert_eq!(
        r0.target.cleanup,
        vec![
            ("-/".into(), "/x".into()),
            ("HTTP_X_DEBUG".into(), "None".into())
        ]
    );
    assert_eq!(r0.target.timeouts.connect, Some(Duration::from_secs(2)));
    assert_eq!(r0.target.timeouts.idle, Some(Duration::from_secs(60)));
    let r1 = &c.routes[1];
    assert!(matches!(r1.matcher, Matcher::Regex(_)));
    assert_eq!(r1.target.upstreams.len(), 2);
    assert_eq!(r1.target.host, HostPolicy::Preserve);
    assert_eq!(
        c.default.unwrap().upstreams,
        vec![UpstreamAddr::Builtin(Builtin::Echo)]
    );
    assert_eq!(c.not_found.status, 410);
    assert_eq!(c.not_found.body, "Gone");
    assert!(c.compat.wfront04);
}

#[test]
fn empty_file_is_the_defaults() {
    let c = parse("").unwrap();
    assert_eq!(
        c.server.listen,
        vec!["127.0.0.1:8080".parse::<SocketAddr>().unwrap()]
    );
    assert!(c.routes.is_empty());
    assert!(c.default.is_none());
    assert_eq!(c.not_found.status, 404);
    assert!(!c.compat.wfront04);
    assert!(c.resolve.trusted_proxies.is_empty());
}

#[test]
fn unknown_keys_are_errors_with_lines() {
    let e = errors("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("line 3: unknown field `lisen`"), "{e:?}");
    let e = errors("[[route]]\nspec = \"::/\"\nupstream = \"http://h\"\ncolour = 1\n");
    assert!(e[0].starts_with("line 4: unknown field `colour`"), "{e:?}");
    let e = errors("[bogus]\n");
    assert!(e[0].contains("unknown field `bogus`"), "{e:?}");
}

#[test]
fn every_value_error_is_reported_with_path_and_line() {
    let src = r#"[server]
listen = ["127.0.0.1:8080", "nope"]
admin = "x"
server_name = "bad host"

[resolve]
trusted_proxies = ["10.0.0.0/33"]

[[route]]
spec = "::/a"
upstream = "ftp://h"
relocate = "dav"
host = "a b"
timeouts = { connect = "soon", idle = "0s" }
mirror = { upstream = "http://127.0.0.1:9000", sample = 1.5 }

[[route]]
upstream = "http://h"

[[route]]
spec = "::/b"
upstream = "builtin:nope"

[not_found]
status = 99
"#;
    let e = errors(src);
    let want = [
        "line 2: server.listen[1]: not an ip:port address: \"nope\"",
        "line 4: server.server_name: not a host name: \"bad host\"",
        "line 3: server.admin: not an ip:port address: \"x\"",
        "line 7: resolve.trusted_proxies[0]: not a CIDR or IP address: \"10.0.0.0/33\"",
        "line 11: route[0].upstream: scheme `ftp` is not supported (http",
        "line 12: route[0].relocate: unknown relocation profile",
        "line 13: route[0].host: expected \"upstream\", \"preserve\" or a host[:port], got \"a b\"",
        "line 14: route[0].timeouts.connect: not a duration \"soon\"",
        "line 14: route[0].timeouts.idle: must be greater than zero",
        "line 15: route[0].mirror.sample: ",
        "line 18: route[1]: missing `spec` (or `regex`)",
        "line 22: route[2].upstream: unknown built-in backend \"nope\": expected builtin:echo or builtin:redirect",
        "line 25: not_found.status: not a final HTTP status: 99",
    ];
    assert_eq!(e.len(), want.len(), "{e:#?}");
    for (got, want) in e.iter().zip(want) {
        assert!(got.starts_with(want), "got {got:?}\nwant {want:?}");
    }
}

#[test]
fn upstream_urls_are_checked_by_the_upstream_client() {
    let upstream = |url: &str| format!("[default]\nupstream = \"{url}\"\n").parse::<Config>();
    assert!(upstream("http://127.0.0.1:8081/repos").is_ok());
    for (bad, why) in [
        ("127.0.0.1:8081", "has no scheme"),
        ("http://u:p@h/", "must not contain userinfo"),
        ("http://h/?q", "must not have a query"),
        ("http:///x", "is not a uri"),
        ("http://:80/x", "has no host"),
        ("gopher://h", "scheme `gopher` is not supported"),
    ] {
        let errors = upstream(bad).unwrap_err().to_string();
        assert!(
            errors.starts_with("line 2: default.upstream: ") && errors.contains(why),
            "{bad}: {errors}"
        );
    }
}

#[test]
fn a_default_has_no_matcher() {
    let e = errors("[default]\nspec = \"::/\"\nupstream = \"builtin:echo\"\n");
    assert_eq!(
        e,
        ["line 2: default.spec: unknown field `spec`: [default] takes what no route matches"]
    );
}

#[test]
fn the_embedded_demo_parses() {
    let demo = Config::embedded().unwrap();
    assert_eq!(demo.routes.len(), 1);
    assert!(demo.default.is_some());
}

#[test]
fn spec_and_regex_together_is_an_error() {
    let e = errors("[[route]]\nspec = \"::/\"\nregex = \"^\"\nupstream = \"http://h\"\n");
    assert_eq!(
        e,
        ["line 2: route[0]: give either `spec` or `regex`, not both"]
    );
}

#[test]
fn listener_labels_are_checked_and_declared() {
    let c = parse("[resolve]\nlisten_labels_placeholder = 1\n");
    assert!(c.is_err());
    let c = parse(
        "[resolve]\nschemes = { admin = [9443] }\nlistener_labels = { \"0.0.0.0:9000\" = \"Ops\", \"127.0.0.1:9443\" = \"admin\" }\n",
    )
    .unwrap();
    assert!(c.resolve.by_scheme);
    assert_eq!(
        c.resolve.listener_labels,
        [
            ("0.0.0.0:9000".parse().unwrap(), "ops".to_owned()),
            ("127.0.0.1:9443".parse().unwrap(), "admin".to_owned()),
        ]
    );
    assert_eq!(c.resolve.schemes.ports("ops"), Some(&[][..]));
    assert_eq!(c.resolve.schemes.ports("admin"), Some(&[9443][..]));
    assert_eq!(
        errors("[resolve]\nlistener_labels = { \"x\" = \"a\", \"127.0.0.1:1\" = \"80\" }\n"),
        [
            "line 2: resolve.listener_labels.\"127.0.0.1:1\": a label is letters, digits, '-', '_', '+', '.' and not only digits",
            "line 2: resolve.listener_labels.\"x\": not an ip:port listen address: \"x\"",
        ]
    );
}

#[test]
fn limits_parse_with_sizes_and_defaults() {
    let config = parse(
        r#"
[server]
idle_timeout = "30s"
send_timeout = "15s"
max_connections_per_ip = 16
proxy_protocol = true
max_header_bytes = "16KiB"
max_headers = 50
h2_max_concurrent_streams = 64
max_request_body = "1 MiB"

[[route]]
spec = "::/a"
upstream = "http://127.0.0.1:1"
max_in_flight = 10
upstream_max_connections = 4
"#,
    )
    .unwrap();
    let s = &config.server;
    assert_eq!(s.idle_timeout, Some(Duration::from_secs(30)));
    assert_eq!(s.send_timeout, Some(Duration::from_secs(15)));
    assert_eq!(s.max_connections_per_ip, 16);
    assert!(s.proxy_protocol);
    assert_eq!(s.max_header_bytes, Some(16 * 1024));
    assert_eq!(s.max_headers, Some(50));
    assert_eq!(s.h2_max_concurrent_streams, Some(64));
    assert_eq!(s.max_request_body, 1 << 20);
    assert_eq!(config.routes[0].target.max_in_flight, 10);
    assert_eq!(config.routes[0].target.upstream_max_connections, 4);

    let defaults = parse("").unwrap();
    assert_eq!(defaults.server.max_connections_per_ip, 0);
    assert!(!defaults.server.proxy_protocol);
    assert_eq!(defaults.server.max_request_body, 0);
    assert_eq!(defaults.server.max_header_bytes, None);
    let sizes = parse("[server]\nmax_request_body = 4096\nmax_header_bytes = \"8192B\"\n").unwrap();
    assert_eq!(sizes.server.max_request_body, 4096);
    assert_eq!(sizes.server.max_header_bytes, Some(8192));
}

#[test]
fn request_buffering_and_the_body_rate_parse_with_defaults() {
    let config = parse(
        r#"
[server]
request_buffer = "16KiB"
request_buffer_total = "1MiB"
min_body_rate = "1KiB/s"

[[route]]
spec = "::/a"
upstream = "http://127.0.0.1:1"
request_buffer = 0

[[route]]
spec = "::/b"
upstream = "http://127.0.0.1:1"
request_buffer = "1MiB"
"#,
    )
    .unwrap();
    let s = &config.server;
    assert_eq!(s.request_buffer, 16 * 1024);
    assert_eq!(s.request_buffer_total, 1 << 20);
    let state = crate::state::SharedState::new(&config).unwrap();
    assert_eq!(state.budget().available(), 1 << 20);
    assert_eq!(s.min_body_rate, 1024);
    assert_eq!(config.routes[0].target.request_buffer, Some(0));
    assert_eq!(config.routes[1].target.request_buffer, Some(1 << 20));

    let defaults = parse("[default]\nupstream = \"http://127.0.0.1:1\"\n").unwrap();
    assert_eq!(defaults.server.request_buffer, 64 * 1024);
    assert_eq!(defaults.server.request_buffer_total, 64 << 20);
    assert_eq!(defaults.server.min_body_rate, 256);
    assert_eq!(defaults.default.unwrap().request_buffer, None);
    for off in ["min_body_rate = 0", "min_body_rate = \"0\""] {
        let config = parse(&format!("[server]\n{off}\n")).unwrap();
        assert_eq!(config.server.min_body_rate, 0, "{off}");
    }
    assert_eq!(
        parse("[server]\nmin_body_rate = \"256B/s\"\n")
            .unwrap()
            .server
            .min_body_rate,
        256
    );

    let got = errors(
        r#"[server]
request_buffer = "lots"
min_body_rate = "1KiB"

[[route]]
spec = "::/a"
upstream = "http://127.0.0.1:1"
request_buffer = "-1"
"#,
    );
    assert_eq!(
        got,
        [
            "line 2: server.request_buffer: not a size: \"lots\"; write a number of bytes or e.g. \"64KiB\", \"1MiB\"",
            "line 3: server.min_body_rate: not a rate: \"1KiB\"; write a size per second, e.g. \"256B/s\", \"1KiB/s\", or 0 (off)",
            "line 8: route[0].request_buffer: not a size: \"-1\"; write a number of bytes or e.g. \"64KiB\", \"1MiB\"",
        ]
    );
}

#[test]
fn upgrades_are_an_allow_list_without_h2c() {
    let config = parse(
        r#"[[route]]
spec = "::/a"
upstream = "http://127.0.0.1:1"

[[route]]
spec = "::/b"
upstream = "http://127.0.0.1:1"
upgrades = ["WebSocket", "foo"]

[[route]]
spec = "::/c"
upstream = "http://127.0.0.1:1"
upgrades = []

[default]
upstream = "http://127.0.0.1:1"
upgrades = ["foo/1"]
"#,
    )
    .unwrap();
    let listed = |t: &Target| t.upgrades.iter().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(listed(&config.routes[0].target), ["websocket"]);
    assert_eq!(listed(&config.routes[1].target), ["websocket", "foo"]);
    assert!(config.routes[2].target.upgrades.is_empty());
    assert_eq!(listed(config.default.as_ref().unwrap()), ["foo/1"]);

    let got = errors(
        r#"[[route]]
spec = "::/a"
upstream = "http://127.0.0.1:1"
upgrades = ["websocket", "h2c"]

[[route]]
spec = "::/b"
upstream = "http://127.0.0.1:1"
upgrades = "websocket"

[[route]]
spec = "::/c"
upstream = "http://127.0.0.1:1"
upgrades = ["web socket"]

[default]
upstream = "http://127.0.0.1:1"
upgrades = ["H2C/1"]
"#,
    );
    assert_eq!(
        got,
        [
            "line 4: route[0].upgrades: `h2c` cannot be proxied: the h2c upgrade is deprecated \
             (RFC 9113) and would let clients reach any path of the upstream",
            "line 9: route[1].upgrades: expected a list of protocols, such as [\"websocket\"] \
             ([] for none)",
            "line 14: route[2].upgrades: `web socket` is not an upgrade protocol: a token, \
             optionally with `/version`",
            "line 18: default.upgrades: `H2C/1` cannot be proxied: the h2c upgrade is \
             deprecated (RFC 9113) and would let clients reach any path of the upstream",
        ]
    );
}

#[test]
fn bad_limits_name_their_key() {
    let got = errors(
        r#"[server]
max_header_bytes = "4KiB"
max_request_body = "1 MB"
max_connections_per_ip = -1
max_headers = 0
h2_max_concurrent_streams = "many"

[[route]]
spec = "::/a"
upstream = "http://127.0.0.1:1"
max_in_flight = -3
"#,
    );
    let want = [
        "line 2: server.max_header_bytes: must be at least 8KiB, got 4096 bytes",
        "line 3: server.max_request_body: not a size: \"1 MB\"",
        "line 4: server.max_connections_per_ip: must be 0 (no limit) or a positive number, got -1",
        "line 5: server.max_headers: must be a positive number, got 0",
    ];
    // `h2_max_concurrent_streams = "many"` is a type error serde reports alone.
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].contains("h2_max_concurrent_streams") || got[0].contains("invalid type"),
        "{got:?}"
    );
    let got = errors(
        r#"[server]
max_header_bytes = "4KiB"
max_request_body = "1 MB"
max_connections_per_ip = -1
max_headers = 0

[[route]]
spec = "::/a"
upstream = "http://127.0.0.1:1"
max_in_flight = -3
"#,
    );
    let mut sorted = got.clone();
    sorted.sort_by_key(|e| e.split(':').next().unwrap()[5..].parse::<usize>().unwrap());
    for (got, want) in sorted.iter().zip(want) {
        assert!(got.starts_with(want), "{got:?} vs {want:?}");
    }
    assert_eq!(
        sorted.last().unwrap(),
        "line 10: route[0].max_in_flight: must be 0 (no limit) or a positive number, got -3"
    );
    assert_eq!(got.len(), 5, "{got:?}");
}

#[test]
fn durations_over_seven_days_are_refused_naming_the_key() {
    let got = errors(
        r#"[server]
header_timeout = "8days"
idle_timeout = "7days"
drain_timeout = "584542046090years"

[[route]]
spec = "::/a"
upstream = "http://127.0.0.1:1"
timeouts = { connect = "1year" }
mirror = { upstream = "http://127.0.0.1:2", timeout = "30days" }
"#,
    );
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(
        got[0].starts_with("line 2: server.header_timeout: must be at most 7 days"),
        "{got:?}"
    );
    assert!(
        got[1].starts_with("line 4: server.drain_timeout: "),
        "{got:?}"
    );
    assert!(
        got[2].starts_with("line 9: route[0].timeouts.connect: must be at most 7 days"),
        "{got:?}"
    );
    assert!(
        got[3].contains("route[0].mirror.timeout: must be at most 7 days"),
        "{got:?}"
    );
}

#[test]
fn changed_server_keys_are_named() {
    let old = parse("[server]\nheader_timeout = \"5s\"\nserver_name = \"a\"\n").unwrap();
    let new = parse(
        "[server]\nheader_timeout = \"6s\"\nserver_name = \"b\"\nproxy_protocol = true\nmax_request_body = \"1KiB\"\n",
    )
    .unwrap();
    assert_eq!(
        old.server.changed_keys(&new.server),
        [
            "server.header_timeout",
            "server.proxy_protocol",
            "server.max_request_body"
        ]
    );
    assert!(old.server.changed_keys(&old.server).is_empty());
}

// === TLS keys ===

#[test]
fn tls_keys_parse() {
    let c = parse(
        r#"[server]
listen_tls = ["0.0.0.0:443", "127.0.0.1:8443"]
tls_handshake_timeout = "3s"
forwarded = true

[[tls]]
cert = "chain.pem"
key = "key.pem"

[[tls]]
cert = "/etc/api.pem"
key = "/etc/api.key"
hosts = ["API.example.com", "*.api.example.com."]

[[route]]
spec = "::/secure"
upstream = "https://10.0.0.5:8443/app"
redirect_https = true
tls = { ca = "ca.pem", server_name = "app.internal", cert = "client.pem", key = "client.key" }
"#,
    )
    .unwrap();
    assert_eq!(c.server.listen_tls.len(), 2);
    assert_eq!(c.server.tls_handshake_timeout, Some(Duration::from_secs(3)));
    assert!(c.server.forwarded);
    assert!(!parse("").unwrap().server.forwarded);
    assert_eq!(c.tls.len(), 2);
    assert_eq!(c.tls[0].cert, FileRef::new("chain.pem", 7));
    assert_eq!(c.tls[0].key, FileRef::new("key.pem", 8));
    assert_eq!(c.tls[0].hosts, None);
    assert_eq!(
        c.tls[1].hosts.as_deref(),
        Some(&["api.example.com".to_owned(), "*.api.example.com".to_owned()][..])
    );
    assert_eq!(c.tls[1].hosts_line, Some(13));
    let target = &c.routes[0].target;
    assert!(target.redirect_https);
    let tls = target.tls.as_ref().unwrap();
    assert_eq!(tls.ca, Some(FileRef::new("ca.pem", 19)));
    assert_eq!(tls.server_name.as_deref(), Some("app.internal"));
    assert!(tls.verify);
    assert!(tls.cert.is_some() && tls.key.is_some());
    assert!(c.warnings.is_empty());
    // 8443 joins the `https` label, so `host:https:/` matches the TLS listener.
    assert_eq!(c.resolve.schemes.ports("https"), Some(&[443, 8443][..]));
    assert_eq!(c.resolve.schemes.ports("http"), Some(&[80][..]));
}

#[test]
fn tls_ports_keep_a_label_the_table_gives_them() {
    let c = parse(
        "[server]\nlisten_tls = [\"127.0.0.1:9443\", \"127.0.0.1:0\"]\n\n[resolve]\nschemes = { admin = [9443] }\n\n[[tls]]\ncert = \"c\"\nkey = \"k\"\n",
    )
    .unwrap();
    assert_eq!(c.resolve.schemes.ports("https"), Some(&[443][..]));
    assert_eq!(c.resolve.schemes.label_of(9443), Some("admin"));
}

#[test]
fn tls_key_errors_and_warnings_have_paths_and_lines() {
    let src = r#"[server]
listen_tls = ["127.0.0.1:443", "nope"]
tls_handshake_timeout = "0s"

[[tls]]
key = "key.pem"

[[tls]]
cert = "c.pem"
key = ""
hosts = ["a.*.example.com", "ok.example.com"]

[[route]]
spec = "::/a"
upstream = "http://127.0.0.1:1"
tls = { verify = true }

[[route]]
spec = "::/b"
upstream = "https://127.0.0.1:1"
tls = { cert = "client.pem", verify = false, ca = "ca.pem", colour = 1 }
"#;
    let e = errors(src);
    assert!(
        e[0].starts_with("line 21: unknown field `colour`"),
        "{e:#?}"
    );
    let src = src.replace(", colour = 1", "");
    let e = errors(&src);
    let want = [
        "line 2: server.listen_tls[1]: not an ip:port address: \"nope\"",
        "line 3: server.tls_handshake_timeout: must be greater than zero",
        "line 5: tls[0].cert: missing `cert`",
        "line 10: tls[1].key: expected a file path",
        "line 11: tls[1].hosts[0]: \"a.*.example.com\": a wildcard is allowed only as the whole first label",
        "line 16: route[0].tls: applies to https:// upstreams only, and http://127.0.0.1:1/ is not one",
        "line 21: route[1].tls.ca: a CA is of no use with `verify = false`",
        "line 21: route[1].tls.cert: a client certificate needs both `cert` and `key`; `key` is missing",
    ];
    assert_eq!(e.len(), want.len(), "{e:#?}");
    for (got, want) in e.iter().zip(want) {
        assert!(got.starts_with(want), "got {got:?}\nwant {want:?}");
    }

    // A TLS listener needs a certificate; certificates alone are a warning.
    let e = errors("[server]\nlisten_tls = \"127.0.0.1:443\"\n");
    assert_eq!(
        e,
        ["line 2: server.listen_tls: a TLS listener needs a certificate: add a [[tls]] table with `cert` and `key`"]
    );
    let c = parse(
        "[[tls]]\ncert = \"c\"\nkey = \"k\"\n\n[default]\nupstream = \"https://h\"\ntls = { verify = false }\n",
    )
    .unwrap();
    let warnings: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(warnings[0]
        .starts_with("tls: certificates are configured but [server] listen_tls is empty"));
    assert!(warnings[1]
        .starts_with("line 7: default.tls.verify: the upstream's certificate is not verified"));
}

#[test]
fn relative_files_are_relative_to_the_config_file() {
    let dir = std::env::temp_dir().join(format!("frontdoor-config-rel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("front.toml");
    std::fs::write(
        &file,
        "[server]\nlisten_tls = \"127.0.0.1:0\"\n\n[[tls]]\ncert = \"certs/chain.pem\"\nkey = \"/abs/key.pem\"\n\n[default]\nupstream = \"https://h\"\ntls = { ca = \"ca.pem\" }\n",
    )
    .unwrap();
    let c = Config::load(&file).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(c.tls[0].cert.path, dir.join("certs/chain.pem"));
    assert_eq!(c.tls[0].key.path, std::path::Path::new("/abs/key.pem"));
    let ca = c.default.unwrap().tls.unwrap().ca.unwrap();
    assert_eq!(ca.path, dir.join("ca.pem"));
}
