//! Route names through the built binary: the label of metrics, access lines and the
//! route table, kept when a reload moves the route; `frontdoor check`'s count.

use super::{bin, echo_origin, get, json, start, ConfigFile};

/// A named route's counters follow it when a reload moves it to another position;
/// its access lines and its row in `/routes` carry the name.
#[tokio::test]
async fn a_named_route_keeps_counting_across_a_reload_that_moves_it() {
    let origin = echo_origin().await;
    // A route consumes its prefix: the upstream's base path puts it back.
    let route = |name: &str, path: &str| {
        format!("[[route]]\n{name}spec = \"::{path}\"\nupstream = \"http://{origin}{path}\"\n\n")
    };
    let head = "[server]\nadmin = \"127.0.0.1:0\"\n\n";
    let api = route("name = \"api\"\n", "/api");
    let file = ConfigFile::new(&format!("{head}{api}{}", route("", "/other")));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let admin = fd.admin.clone().expect("admin address printed");

    let (status, _, body) = get(&fd.addr, "/api/a", "h", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["path"], "/api/a");
    let line = fd.wait_log("frontdoor::access");
    assert!(line.contains(" route=api upstream="), "{line}");
    let (status, _, _) = get(&fd.addr, "/other/a", "h", "").await;
    assert_eq!(status, 200);

    // `api` moves from route[0] to route[2]; the unnamed route moves to route[1].
    file.rewrite(&format!(
        "{head}{}{}{api}",
        route("", "/new"),
        route("", "/other")
    ));
    fd.signal("-HUP");
    fd.wait_log("config reloaded");
    let (status, _, body) = get(&fd.addr, "/api/b", "h", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["path"], "/api/b");

    let (status, _, metrics) = get(&admin, "/metrics", "admin", "").await;
    assert_eq!(status, 200);
    let mut requests: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("frontdoor_requests_total{"))
        .collect();
    requests.sort_unstable();
    assert_eq!(
        requests,
        [
            r#"frontdoor_requests_total{route="api",status="2xx"} 2"#,
            r#"frontdoor_requests_total{route="route[1]",status="2xx"} 1"#,
        ],
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"frontdoor_request_duration_seconds_count{route="api"} 2"#),
        "{metrics}"
    );

    let (status, _, routes) = get(&admin, "/routes", "admin", "").await;
    assert_eq!(status, 200);
    let rows: Vec<Vec<&str>> = routes
        .lines()
        .map(|l| l.split_whitespace().take(3).collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["index", "name", "spec"],
            ["0", "route[0]", "::/new"],
            ["1", "route[1]", "::/other"],
            ["2", "api", "::/api"],
            ["-", "not_found", "(not"],
        ],
        "{routes}"
    );
}

/// `frontdoor check` counts the `[[route]]`s, and says whether there is a default.
#[test]
fn check_counts_the_routes() {
    let route =
        |n: usize| format!("[[route]]\nspec = \"::/{n}\"\nupstream = \"http://127.0.0.1:1\"\n\n");
    let four: String = (0..4).map(route).collect();
    let default = "[default]\nupstream = \"builtin:echo\"\n";
    for (text, want) in [
        (four.clone(), "4 routes"),
        (format!("{four}{default}"), "4 routes and a default"),
        (route(0), "1 route"),
        (format!("{}{default}", route(0)), "1 route and a default"),
        (default.to_owned(), "0 routes and a default"),
        (String::new(), "0 routes"),
    ] {
        let file = ConfigFile::new(&text);
        let out = bin().args(["check", "-c"]).arg(&file.0).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!("{}: ok ({want})\n", file.0.display()),
            "{text}"
        );
    }
}
