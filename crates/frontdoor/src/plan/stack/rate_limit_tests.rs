//! `rate_limit` through a plan's stacks: one limiter per route over every worker, its
//! 429 tagged with the route and counted by the observer, a header key counted as the
//! client sent it, and the limiter kept by a reload that leaves the route unchanged.

use std::sync::Arc;

use parking_lot::Mutex;

use frontdoor_core::Body;
use http::{Request, StatusCode};
use tower::ServiceExt;

use crate::plan::{
    description::RateLimit, Description, Observer, Options, Plan, PlanService, Route, Served,
};

/// A route to a closed port (allowed requests answer 502), limited to 1/m.
fn limited(limit: RateLimit) -> Description {
    Description::new().route(
        Route::new("::/", "http://127.0.0.1:1")
            .name("api")
            .rate_limit(limit),
    )
}

async fn send(svc: &PlanService, key: Option<&str>) -> (StatusCode, Option<String>) {
    let mut req = Request::get("/x").header("host", "a.example");
    if let Some(key) = key {
        req = req.header("x-api-key", key);
    }
    let res = svc
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let route = res
        .extensions()
        .get::<Served>()
        .map(|s| s.route.to_string());
    (res.status(), route)
}

#[derive(Default)]
struct Counted(Mutex<Vec<String>>);

impl Observer for Counted {
    fn rate_limited(&self, route: &str) {
        self.0.lock().push(route.to_owned());
    }
}

#[tokio::test]
async fn workers_share_one_limit_and_429s_are_tagged_and_counted() {
    let observer = Arc::new(Counted::default());
    let checked = limited(RateLimit::new("1/m").key("route")).check().unwrap();
    let options = Options::new().observer(Arc::clone(&observer) as Arc<dyn Observer>);
    let plan = Plan::with_options(checked, options).unwrap();
    let (one, two) = (plan.service(), plan.service());
    assert_eq!(send(&one, None).await.0, StatusCode::BAD_GATEWAY);
    let limited = (StatusCode::TOO_MANY_REQUESTS, Some("api".to_owned()));
    assert_eq!(send(&two, None).await, limited);
    assert_eq!(send(&one, None).await, limited);
    assert_eq!(*observer.0.lock(), ["api", "api"]);
}

#[tokio::test]
async fn a_header_key_counts_the_value_the_cleanup_rules_remove() {
    let description = Description::new().route(
        Route::new("::/", "http://127.0.0.1:1")
            .cleanup("HTTP_X_API_KEY", "None")
            .rate_limit(RateLimit::new("1/m").key("header:x-api-key")),
    );
    let svc = Plan::new(&description).unwrap().service();
    assert_eq!(send(&svc, Some("a")).await.0, StatusCode::BAD_GATEWAY);
    assert_eq!(send(&svc, Some("b")).await.0, StatusCode::BAD_GATEWAY);
    assert_eq!(send(&svc, Some("a")).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(send(&svc, None).await.0, StatusCode::BAD_GATEWAY);
    assert_eq!(send(&svc, None).await.0, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_reload_keeps_an_unchanged_routes_limiter() {
    let description = limited(RateLimit::new("1/m").key("route"));
    let plan = Plan::new(&description).unwrap();
    assert_eq!(send(&plan.service(), None).await.0, StatusCode::BAD_GATEWAY);
    let kept = plan
        .reload(description.check().unwrap(), Options::new())
        .unwrap();
    let old = plan.state().route(0).unwrap().rate_limit().unwrap();
    let new = kept.state().route(0).unwrap().rate_limit().unwrap();
    assert!(old.shares_table(new));
    assert_eq!(
        send(&kept.service(), None).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let changed = limited(RateLimit::new("2/m").key("route")).check().unwrap();
    let fresh = kept.reload(changed, Options::new()).unwrap();
    let new = fresh.state().route(0).unwrap().rate_limit().unwrap();
    assert!(!old.shares_table(new));
    assert_eq!(
        send(&fresh.service(), None).await.0,
        StatusCode::BAD_GATEWAY
    );
}
