//! Tests of parsing and validation.

use std::{net::SocketAddr, time::Duration};

use frontdoor_upstream::HostPolicy;

use super::*;

mod limits;
mod mirror;
mod names;
mod prefix;
mod stack;

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
    assert_eq!(c.plan.settings.server_name.as_deref(), Some("localhost"));
    assert_eq!(c.server.admin, Some("127.0.0.1:9901".parse().unwrap()));
    assert_eq!(c.server.workers, Some(3));
    assert_eq!(
        c.server.settings.header_timeout,
        Some(Duration::from_secs(5))
    );
    assert_eq!(
        c.server.settings.body_timeout,
        Some(Duration::from_secs(20))
    );
    assert_eq!(
        c.server.settings.drain_timeout,
        Some(Duration::from_secs(60))
    );
    assert_eq!(c.server.settings.max_connections, Some(500));
    assert_eq!(c.plan.resolve.trusted_proxies.len(), 2);
    assert_eq!(
        c.plan.resolve.schemes.ports("https"),
        Some(&[443, 8443][..])
    );
    assert_eq!(c.plan.routes.len(), 2);
    let r0 = &c.plan.routes[0];
    assert_eq!(
        r0.matcher,
        Matcher::Spec("www.example.com:http:/svn".into())
    );
    assert_eq!(
        frontdoor::plan::Located::new(c.text()).line_of_path("route[0]"),
        Some(17)
    );
    assert_eq!(
        r0.target.cleanup,
        vec![
            ("-/".into(), "/x".into()),
            ("HTTP_X_DEBUG".into(), "None".into())
        ]
    );
    assert_eq!(r0.target.timeouts.connect, Some(Duration::from_secs(2)));
    assert_eq!(r0.target.timeouts.idle, Some(Duration::from_secs(60)));
    let r1 = &c.plan.routes[1];
    assert!(matches!(r1.matcher, Matcher::Regex(_)));
    assert_eq!(r1.target.upstreams.len(), 2);
    assert_eq!(r1.target.host, HostPolicy::Preserve);
    assert_eq!(
        c.plan.default.unwrap().upstreams,
        vec![UpstreamAddr::Builtin(Builtin::Echo)]
    );
    assert_eq!(c.plan.not_found.status, 410);
    assert_eq!(c.plan.not_found.body, "Gone");
    assert!(c.plan.compat.wfront04);
}

#[test]
fn empty_file_is_the_defaults() {
    let c = parse("").unwrap();
    assert_eq!(
        c.server.listen,
        vec!["127.0.0.1:8080".parse::<SocketAddr>().unwrap()]
    );
    assert!(c.plan.routes.is_empty());
    assert!(c.plan.default.is_none());
    assert_eq!(c.plan.not_found.status, 404);
    assert!(!c.plan.compat.wfront04);
    assert!(c.plan.resolve.trusted_proxies.is_empty());
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
        "line 3: server.admin: not an ip:port address: \"x\"",
        "line 4: server.server_name: not a host name: \"bad host\"",
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
    assert_eq!(demo.plan.routes.len(), 1);
    assert!(demo.plan.default.is_some());
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
    assert!(c.plan.resolve.by_scheme);
    assert_eq!(
        c.plan.resolve.listener_labels,
        [
            ("0.0.0.0:9000".parse().unwrap(), "ops".to_owned()),
            ("127.0.0.1:9443".parse().unwrap(), "admin".to_owned()),
        ]
    );
    assert_eq!(c.plan.resolve.schemes.ports("ops"), Some(&[][..]));
    assert_eq!(c.plan.resolve.schemes.ports("admin"), Some(&[9443][..]));
    assert_eq!(
        errors("[resolve]\nlistener_labels = { \"x\" = \"a\", \"127.0.0.1:1\" = \"80\" }\n"),
        [
            "line 2: resolve.listener_labels.\"127.0.0.1:1\": a label is letters, digits, '-', '_', '+', '.' and not only digits",
            "line 2: resolve.listener_labels.\"x\": not an ip:port listen address: \"x\"",
        ]
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
    assert_eq!(
        c.server.settings.tls_handshake_timeout,
        Some(Duration::from_secs(3))
    );
    assert!(c.plan.settings.forwarded);
    assert!(!parse("").unwrap().plan.settings.forwarded);
    assert_eq!(c.tls.len(), 2);
    assert_eq!(c.tls[0].cert, FileRef::new("chain.pem", 7));
    assert_eq!(c.tls[0].key, FileRef::new("key.pem", 8));
    assert_eq!(c.tls[0].hosts, None);
    assert_eq!(
        c.tls[1].hosts.as_deref(),
        Some(&["api.example.com".to_owned(), "*.api.example.com".to_owned()][..])
    );
    assert_eq!(c.tls[1].hosts_line, Some(13));
    let target = &c.plan.routes[0].target;
    assert!(target.redirect_https);
    let tls = target.tls.as_ref().unwrap();
    assert_eq!(tls.ca, Some(std::path::PathBuf::from("ca.pem")));
    assert_eq!(tls.server_name.as_deref(), Some("app.internal"));
    assert!(tls.verify);
    assert!(tls.cert.is_some() && tls.key.is_some());
    assert!(c.warnings.is_empty());
    // 8443 joins the `https` label in the plan, so `host:https:/` matches the TLS
    // listener.
    let c: Config = "[server]\nlisten_tls = [\"0.0.0.0:443\", \"127.0.0.1:8443\"]\n\
                     [[tls]]\ncert = \"c.pem\"\nkey = \"k.pem\"\n\
                     [[route]]\nspec = \"::/\"\nupstream = \"http://127.0.0.1:1\"\n"
        .parse()
        .unwrap();
    let metrics = crate::ops::Metrics::new();
    let plan = crate::stack::plan(&c, &crate::stack::Builtins::new(), &metrics, None).unwrap();
    let schemes = &plan.checked().resolve.schemes;
    assert_eq!(schemes.ports("https"), Some(&[443, 8443][..]));
    assert_eq!(schemes.ports("http"), Some(&[80][..]));
}

#[test]
fn tls_ports_keep_a_label_the_table_gives_them() {
    let c = parse(
        "[server]\nlisten_tls = [\"127.0.0.1:9443\", \"127.0.0.1:0\"]\n\n[resolve]\nschemes = { admin = [9443] }\n\n[[tls]]\ncert = \"c\"\nkey = \"k\"\n",
    )
    .unwrap();
    assert_eq!(c.plan.resolve.schemes.ports("https"), Some(&[443][..]));
    assert_eq!(c.plan.resolve.schemes.label_of(9443), Some("admin"));
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
        e[0].starts_with("line 21: route[1].tls: unknown field `colour`"),
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
    let ca = c.plan.default.unwrap().tls.unwrap().ca.unwrap();
    assert_eq!(ca, dir.join("ca.pem"));
}

/// Every `[server]` key of the README's walkthrough is accepted by the loader and
/// reaches a setting (the server's, the stack's or the binary's own): a key that is
/// documented but not wired fails here.
#[test]
fn every_server_key_of_the_readme_reaches_the_settings() {
    let readme = include_str!("../../../../../README.md");
    let block = readme
        .split("\n[server]\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap();
    let settings = |text: &str| {
        let config: Config = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        let stack = frontdoor::plan::Description::from_toml(text)
            .unwrap()
            .server;
        format!("{:?} {stack:?}", config.server)
    };
    let defaults = settings("");
    let mut keys = Vec::new();
    for line in block.lines() {
        let setting = line.split('#').next().unwrap().trim();
        let key = setting.split('=').next().unwrap().trim();
        let mut text = format!("[server]\n{setting}\n");
        if key == "listen_tls" {
            text.push_str("[[tls]]\ncert = \"c.pem\"\nkey = \"k.pem\"\n");
        }
        assert_ne!(settings(&text), defaults, "`{key}` reaches no setting");
        keys.push(key);
    }
    assert_eq!(keys.len(), 30, "{keys:?}");
}
