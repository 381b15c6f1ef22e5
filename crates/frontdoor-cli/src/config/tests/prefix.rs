//! `strip_prefix`: a route that forwards the whole path.

use frontdoor::{route::Prefix, Body};
use http::Request;
use tower::ServiceExt;

use super::{errors, parse};
use crate::{
    ops::Metrics,
    stack::{plan, Built, Builtins},
};

#[test]
fn strip_prefix_false_keeps_the_prefix_and_true_is_the_default() {
    let c = parse(
        "[[route]]\nspec = \"::/a\"\nupstream = \"builtin:echo\"\nstrip_prefix = false\n\n\
         [[route]]\nspec = \"::/b\"\nupstream = \"builtin:echo\"\nstrip_prefix = true\n\n\
         [[route]]\nspec = \"::/c\"\nupstream = \"builtin:echo\"\n\n\
         [default]\nupstream = \"builtin:echo\"\n",
    )
    .unwrap();
    let prefixes: Vec<Prefix> = c.plan.routes.iter().map(|r| r.target.prefix).collect();
    assert_eq!(prefixes, [Prefix::Keep, Prefix::Consume, Prefix::Consume]);
    assert_eq!(c.plan.default.as_ref().unwrap().prefix, Prefix::Consume);
    // Part of what a reload compares: the same route otherwise is another target.
    assert_ne!(c.plan.routes[0].target, {
        let mut t = c.plan.routes[0].target.clone();
        t.prefix = Prefix::Consume;
        t
    });
}

#[test]
fn a_default_strips_no_prefix() {
    let e = errors("[default]\nupstream = \"builtin:echo\"\nstrip_prefix = false\n");
    assert_eq!(
        e,
        ["line 3: default.strip_prefix: unknown field `strip_prefix`: \
          [default] matches no path prefix to strip or keep"]
    );
}

#[test]
fn strip_prefix_is_a_boolean() {
    let e = errors("[[route]]\nspec = \"::/a\"\nupstream = \"builtin:echo\"\nstrip_prefix = \"no\"\n");
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].starts_with("line 4: route[0].strip_prefix: "), "{e:#?}");
    assert!(e[0].contains("expected a boolean"), "{e:#?}");
}

/// The path the echo of `src`'s stack reports for `path`.
async fn echoed(src: &str, path: &str) -> String {
    let config = parse(src).unwrap();
    let metrics = Metrics::new();
    let built = Built::new(
        &plan(&config, &Builtins::new(), &metrics, None).unwrap(),
        &metrics,
    );
    let req = Request::get(path)
        .header("host", "h")
        .body(Body::empty())
        .unwrap();
    let res = built.service.oneshot(req).await.unwrap();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    doc["path"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_stack_forwards_the_whole_path_when_the_prefix_is_kept() {
    let routes = "[[route]]\nspec = \"::/api\"\nupstream = \"builtin:echo\"\nstrip_prefix = false\n\n\
                  [[route]]\nspec = \"::/v1\"\nupstream = \"builtin:echo\"\n";
    assert_eq!(echoed(routes, "/api/users?x=1").await, "/api/users");
    assert_eq!(echoed(routes, "/v1/users").await, "/users");
}
