//! Tests of the limit, body and upgrade keys: sizes, rates, counts and durations,
//! their defaults and the errors that name them.

use std::time::Duration;

use super::{super::*, errors, parse};

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
    let s = &config.server.settings;
    assert_eq!(s.idle_timeout, Some(Duration::from_secs(30)));
    assert_eq!(s.send_timeout, Some(Duration::from_secs(15)));
    assert_eq!(s.max_connections_per_ip, Some(16));
    assert_eq!(s.proxy_protocol, Some(true));
    assert_eq!(s.max_header_bytes, Some(16 * 1024));
    assert_eq!(s.max_headers, Some(50));
    assert_eq!(s.h2_max_concurrent_streams, Some(64));
    assert_eq!(s.max_request_body, Some(1 << 20));
    assert_eq!(config.plan.routes[0].target.max_in_flight, 10);
    assert_eq!(config.plan.routes[0].target.upstream_max_connections, 4);

    let defaults = parse("").unwrap();
    // Absent: the server's defaults.
    assert_eq!(
        defaults.server.settings,
        frontdoor::serve::Settings::default()
    );
    assert_eq!(defaults.server.settings.max_header_bytes, None);
    let sizes = parse("[server]\nmax_request_body = 4096\nmax_header_bytes = \"8192B\"\n").unwrap();
    assert_eq!(sizes.server.settings.max_request_body, Some(4096));
    assert_eq!(sizes.server.settings.max_header_bytes, Some(8192));
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
    let s = &config.server.settings;
    assert_eq!(config.plan.settings.request_buffer, 16 * 1024);
    assert_eq!(config.plan.settings.request_buffer_total, 1 << 20);
    let state = frontdoor::plan::SharedState::new(&config.plan).unwrap();
    assert_eq!(state.budget().available(), 1 << 20);
    assert_eq!(s.min_body_rate, Some(1024));
    assert_eq!(config.plan.routes[0].target.request_buffer, Some(0));
    assert_eq!(config.plan.routes[1].target.request_buffer, Some(1 << 20));

    let defaults = parse("[default]\nupstream = \"http://127.0.0.1:1\"\n").unwrap();
    assert_eq!(defaults.plan.settings.request_buffer, 64 * 1024);
    assert_eq!(defaults.plan.settings.request_buffer_total, 64 << 20);
    assert_eq!(defaults.server.settings.min_body_rate, None); // the server's 256 B/s
    assert_eq!(defaults.plan.default.unwrap().request_buffer, None);
    for off in ["min_body_rate = 0", "min_body_rate = \"0\""] {
        let config = parse(&format!("[server]\n{off}\n")).unwrap();
        assert_eq!(config.server.settings.min_body_rate, Some(0), "{off}");
    }
    assert_eq!(
        parse("[server]\nmin_body_rate = \"256B/s\"\n")
            .unwrap()
            .server
            .settings
            .min_body_rate,
        Some(256)
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
    assert_eq!(listed(&config.plan.routes[0].target), ["websocket"]);
    assert_eq!(listed(&config.plan.routes[1].target), ["websocket", "foo"]);
    assert!(config.plan.routes[2].target.upgrades.is_empty());
    assert_eq!(listed(config.plan.default.as_ref().unwrap()), ["foo/1"]);

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
    // `h2_max_concurrent_streams = "many"` is a type error, reported beside the others.
    assert_eq!(got.len(), 6, "{got:?}");
    assert!(
        got[4].starts_with("line 6: server.h2_max_concurrent_streams: invalid type"),
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
fn drain_delay_is_a_duration_or_0_and_errors_name_the_key() {
    for (value, want) in [
        ("\"10s\"", Duration::from_secs(10)),
        ("\"0s\"", Duration::ZERO),
        ("\"0\"", Duration::ZERO),
        ("0", Duration::ZERO),
    ] {
        let config = parse(&format!("[server]\ndrain_delay = {value}\n")).unwrap();
        assert_eq!(config.server.settings.drain_delay, Some(want), "{value}");
    }
    assert_eq!(parse("").unwrap().server.settings.drain_delay, None);
    let got = errors("[server]\nworkers = 1\ndrain_delay = 5\n");
    assert_eq!(
        got,
        ["line 3: server.drain_delay: not a duration 5; write e.g. \"5s\", or 0 (none)"]
    );
    let got = errors("[server]\ndrain_delay = \"8days\"\n");
    assert_eq!(
        got,
        ["line 2: server.drain_delay: must be at most 7 days, got \"8days\""]
    );
    let got = errors("[server]\ndrain_delay = \"soon\"\n");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("line 2: server.drain_delay: not a duration \"soon\" ("),
        "{got:?}"
    );
    assert!(
        got[0].ends_with("; write e.g. \"5s\", or 0 (none)"),
        "{got:?}"
    );
}
