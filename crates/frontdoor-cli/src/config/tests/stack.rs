//! Tests of building the plan and the stack from a config.

use frontdoor::Body;
use http::Request;

use crate::{
    config::Config,
    ops::Metrics,
    stack::{plan, Built, Builtins},
};

/// The stack of `config` observed by `metrics`.
fn stack(config: &Config, metrics: &Metrics) -> Built {
    Built::new(
        &plan(config, &Builtins::new(), metrics, None).unwrap(),
        metrics,
    )
}

fn built(src: &str) -> Result<Built, Vec<String>> {
    let config = src
        .parse::<Config>()
        .map_err(|e| e.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let metrics = Metrics::new();
    plan(&config, &Builtins::new(), &metrics, None)
        .map(|plan| Built::new(&plan, &metrics))
        .map_err(|e| e.iter().map(ToString::to_string).collect())
}

#[test]
fn bad_specs_are_all_reported_with_lines() {
    let src = r#"
[[route]]
spec = "bad host::/"
upstream = "http://127.0.0.1:1"

[[route]]
spec = "::/ok"
upstream = "http://127.0.0.1:1"

[[route]]
regex = "(unclosed"
upstream = "http://127.0.0.1:1"

[[route]]
spec = "h:nolabel:/"
upstream = "http://127.0.0.1:1"
"#;
    let errors = built(src).err().unwrap();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors[0].starts_with("line 3: route[0].spec: "),
        "{errors:#?}"
    );
    assert!(errors[0].contains("bad host"), "{errors:#?}");
    assert!(
        errors[1].starts_with("line 11: route[2].regex: "),
        "{errors:#?}"
    );
    assert!(
        errors[2].starts_with("line 15: route[3].spec: "),
        "{errors:#?}"
    );
}

#[test]
fn duplicates_and_bad_cleanup_are_reported() {
    let src = "[[route]]\nspec = \"::/a\"\nupstream = \"http://h:1\"\n\n[[route]]\nspec = \"::/a\"\nupstream = \"http://h:1\"\n";
    let errors = built(src).err().unwrap();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("line 6: route[1]: "), "{errors:?}");
    let src = "[[route]]\nspec = \"::/a\"\nupstream = \"http://h:1\"\ncleanup = { \"wfront.bogus.X\" = \"1\" }\n";
    let errors = built(src).err().unwrap();
    assert!(
        errors[0].starts_with(
            "line 4: route[0].cleanup.\"wfront.bogus.X\": cleanup rule \"wfront.bogus.X\": \
             unknown directive"
        ),
        "{errors:?}"
    );
}

#[test]
fn the_table_lists_routes_in_match_order() {
    let src = r#"
[[route]]
spec = "www.example.com:http:/svn"
upstream = "http://127.0.0.1:8081/repos"
cleanup = { "HTTP_X_DEBUG" = "None" }

[[route]]
regex = '^[^:]+:[0-9]+:(?P<pathinfo>/api)'
upstream = ["http://127.0.0.1:9001", "http://127.0.0.1:9002"]
mirror = { upstream = "http://127.0.0.1:9100/shadow", sample = 0.25, max_in_flight = 7 }

[default]
upstream = "builtin:echo"
"#;
    let b = built(src).unwrap();
    let t = b.table();
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines.len(), 4, "{t}");
    assert!(lines[0].starts_with("index"), "{t}");
    assert!(lines[1].starts_with("0 "), "{t}");
    assert!(lines[1].contains("www.example.com:http:/svn"), "{t}");
    assert!(lines[1].contains("http://127.0.0.1:8081/repos"), "{t}");
    assert!(lines[1].contains("HTTP_X_DEBUG=None"), "{t}");
    assert!(lines[1].ends_with(" -"), "{t}");
    assert!(
        lines[2].contains("regex ^[^:]+:[0-9]+:(?P<pathinfo>/api)"),
        "{t}"
    );
    assert!(
        lines[2].contains("http://127.0.0.1:9001/, http://127.0.0.1:9002/"),
        "{t}"
    );
    assert!(
        lines[2].contains("mirror http://127.0.0.1:9100/shadow sample=0.25")
            && lines[2].contains("max_in_flight=7"),
        "{t}"
    );
    assert!(
        lines[3].contains("(default)") && lines[3].contains("builtin:echo"),
        "{t}"
    );
}

#[test]
fn a_duplicate_is_reported_beside_bad_specs() {
    let src = "[[route]]\nspec = \"bad host::/\"\nupstream = \"http://h:1\"\n\n[[route]]\nspec = \"::/a\"\nupstream = \"http://h:1\"\n\n[[route]]\nspec = \"::/a\"\nupstream = \"http://h:1\"\n";
    let errors = built(src).err().unwrap();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with("line 2: route[0].spec: "),
        "{errors:?}"
    );
    assert!(errors[1].starts_with("line 10: route[2]: "), "{errors:?}");
    assert!(errors[1].contains("duplicates route 0"), "{errors:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn gateway_errors_are_counted_by_kind() {
    use tower::ServiceExt;

    // Nothing listens on port 9 (discard) of loopback: the connect is refused.
    let config: Config = "[default]\nupstream = \"http://127.0.0.1:9\"\n"
        .parse()
        .unwrap();
    let metrics = Metrics::new();
    let built = stack(&config, &metrics);
    let req = Request::get("http://h/x").body(Body::empty()).unwrap();
    let res = built.service.oneshot(req).await.unwrap();
    assert_eq!(res.status(), 502);
    let text = metrics.render();
    assert!(
        text.contains(r#"frontdoor_upstream_errors_total{kind="connect"} 1"#),
        "{text}"
    );
}

/// `[resolve] listener_labels`: the admin route is reached on the admin listener only,
/// whatever port `Host` names (nothing listens on 127.0.0.1:9, so the admin route
/// answers 502; a miss answers `[not_found]`).
#[tokio::test(flavor = "current_thread")]
async fn a_listener_label_reaches_its_routes_on_that_socket_only() {
    use frontdoor_core::ConnInfo;
    use tower::ServiceExt;

    let config: Config = r#"
[resolve]
listener_labels = { "127.0.0.1:9443" = "Admin" }

[[route]]
spec = "*:admin"
upstream = "http://127.0.0.1:9"

[not_found]
status = 404
body = "public"
"#
    .parse()
    .unwrap();
    assert_eq!(config.plan.resolve.schemes.ports("admin"), Some(&[][..]));
    let built = stack(&config, &Metrics::new());
    for (socket, host, status) in [
        (9443, "example.com", 502),
        (8080, "example.com:9443", 404),
        (8080, "example.com", 404),
    ] {
        let mut req = Request::get("/")
            .header("host", host)
            .body(Body::empty())
            .unwrap();
        req.extensions_mut().insert(ConnInfo::new(
            ([127, 0, 0, 1], socket).into(),
            ([127, 0, 0, 1], 40000).into(),
        ));
        let res = built.service.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), status, "socket {socket}, Host {host}");
    }
}
