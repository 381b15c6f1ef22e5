//! `service:NAME` targets: a plan route ending in a mapper, with the route's layers.

use std::{net::SocketAddr, sync::Arc};

use frontdoor_core::Body;
use frontdoor_upstream::{AllowedTargets, Mapper, Mapping, ProxyError, ProxyErrorKind};
use http::{request::Parts, Request, Response, Uri};
use http_body_util::BodyExt as _;
use parking_lot::Mutex;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpListener,
    sync::{mpsc, Notify},
};
use tower::ServiceExt as _;

use crate::plan::{Description, Observer, Options, Plan, PlanService, Route, Served};

/// An origin named `name`: answers `{name} {path}` to each request, after reporting
/// its path on the returned channel; a path ending in `/hold` waits for `hold` first.
async fn origin(
    name: &'static str,
    hold: Arc<Notify>,
) -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen, paths) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (seen, hold) = (seen.clone(), Arc::clone(&hold));
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if socket.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&head);
                let path = text.split(' ').nth(1).unwrap_or("").to_owned();
                let _ = seen.send(path.clone());
                if path.ends_with("/hold") {
                    hold.notified().await;
                }
                let body = format!("{name} {path}");
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (addr, paths)
}

/// A mapper sending `/a/..` to `a`'s `/one` and `/b/..` to `b`'s `/two`, allowing
/// `allow`.
fn mapper(
    a: SocketAddr,
    b: SocketAddr,
    allow: &[&str],
) -> Mapper<impl Fn(&Parts) -> Option<Mapping> + Send + Sync + 'static> {
    let one: Uri = format!("http://{a}/one").parse().unwrap();
    let two: Uri = format!("http://{b}/two").parse().unwrap();
    Mapper::builder(move |head: &Parts| {
        Mapping::under(head, "/a", one.clone()).or_else(|| Mapping::under(head, "/b", two.clone()))
    })
    .allow(AllowedTargets::parse(allow.iter().copied()).unwrap())
    .build()
    .unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header("host", "www.example.com")
        .body(Body::empty())
        .unwrap()
}

async fn text(res: Response<Body>) -> String {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn call(svc: &PlanService, path: &str) -> Response<Body> {
    let Ok(res) = svc.clone().oneshot(get(path)).await;
    res
}

fn geo_plan(route: Route, options: Options) -> Plan {
    let description = Description::new().route(route);
    Plan::with_options(description.check().unwrap(), options).unwrap()
}

/// The route `::/geo` ends in a mapper choosing between two origins by path; the
/// route's `max_in_flight` (1) answers a second request 503 while the first is held,
/// and every answer carries the route's `Served` tag.
#[tokio::test]
async fn a_route_ends_in_a_mapper_under_its_layers() {
    let hold = Arc::new(Notify::new());
    let (a, mut seen_a) = origin("a", Arc::clone(&hold)).await;
    let (b, mut seen_b) = origin("b", Arc::clone(&hold)).await;
    let route = Route::new("::/geo", "service:geo")
        .name("geo")
        .max_in_flight(1);
    let plan = geo_plan(
        route,
        Options::new().service("geo", mapper(a, b, &["127.0.0.1"])),
    );
    assert_eq!(plan.rows()[0].upstream, "service:geo");
    assert_eq!(
        plan.table().lines().nth(1).unwrap(),
        "0      geo        ::/geo       service:geo        none      -       -"
    );
    let svc = plan.service();

    let res = call(&svc, "/geo/b/y?q=1").await;
    assert_eq!(res.status(), 200);
    let served = res.extensions().get::<Served>().unwrap().clone();
    assert_eq!(&*served.route, "geo");
    assert_eq!(&*served.upstream, "service:geo");
    assert_eq!(served.spec.as_deref(), Some("::/geo"));
    assert_eq!(text(res).await, "b /two/y?q=1");
    assert_eq!(seen_b.recv().await.unwrap(), "/two/y?q=1");

    let held = tokio::spawn({
        let svc = svc.clone();
        async move { call(&svc, "/geo/a/hold").await }
    });
    assert_eq!(seen_a.recv().await.unwrap(), "/one/hold");
    let over = call(&svc, "/geo/b/y").await;
    assert_eq!(over.status(), 503);
    assert_eq!(
        &*over.extensions().get::<Served>().unwrap().route,
        "geo",
        "the 503 is the route's"
    );
    hold.notify_one();
    let first = held.await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(text(first).await, "a /one/hold");
    assert_eq!(text(call(&svc, "/geo/b/z").await).await, "b /two/z");
    assert_eq!(seen_b.recv().await.unwrap(), "/two/z");
}

/// Records the upstream failures the observer hears of.
#[derive(Default)]
struct Failures(Mutex<Vec<(String, ProxyErrorKind)>>);

impl Observer for Failures {
    fn upstream_error(&self, route: &str, error: &ProxyError) {
        self.0.lock().push((route.to_owned(), error.kind()));
    }
}

/// A target outside the mapper's allow-list is refused: the route's gateway layer
/// answers 502 and the observer hears of it under the route's label; a request the
/// mapper maps nowhere gets the mapper's fallback (404).
#[tokio::test]
async fn a_mapper_refusal_is_the_routes_502() {
    let hold = Arc::new(Notify::new());
    let (a, _) = origin("a", Arc::clone(&hold)).await;
    let failures = Arc::new(Failures::default());
    let options = Options::new()
        .service("geo", mapper(a, a, &["10.0.0.0/8"]))
        .observer(Arc::clone(&failures) as Arc<dyn Observer>);
    let plan = geo_plan(Route::new("::/geo", "service:geo"), options);
    let svc = plan.service();
    let res = call(&svc, "/geo/a/x").await;
    assert_eq!(res.status(), 502);
    assert_eq!(
        &*res.extensions().get::<Served>().unwrap().route,
        "route[0]"
    );
    assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(text(res).await, "Bad Gateway\n");
    assert_eq!(
        *failures.0.lock(),
        [("route[0]".to_owned(), ProxyErrorKind::TargetRefused)]
    );
    assert_eq!(call(&svc, "/geo/c").await.status(), 404);
}

/// A description naming a service the options lack does not build; the error names
/// the target's `upstream` key.
#[test]
fn an_unregistered_service_is_an_error_at_its_upstream() {
    let description = Description::new()
        .route(Route::new("::/geo", "service:geo"))
        .default_target(Route::target("service:rest"));
    let registered = Options::new().service(
        "rest",
        tower::service_fn(|_: Request<Body>| async {
            Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
        }),
    );
    let error = Plan::with_options(description.check().unwrap(), registered)
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "route[0].upstream: no service \"geo\" was registered in the plan's Options"
    );
    let error = Plan::new(&description).unwrap_err().to_string();
    assert_eq!(
        error,
        "route[0].upstream: no service \"geo\" was registered in the plan's Options\n\
         default.upstream: no service \"rest\" was registered in the plan's Options"
    );
}

/// `service:NAME` is data: the TOML text and the code build the same description,
/// and `Checked::services` lists where each is named.
#[test]
fn a_service_upstream_is_data() {
    let text = "[[route]]\nspec = \"::/geo\"\nupstream = \"service:geo\"\nmax_in_flight = 2\n\
                [default]\nupstream = \"service:rest\"\n";
    let from_text = Description::from_toml(text).unwrap();
    let from_code = Description::new()
        .route(Route::new("::/geo", "service:geo").max_in_flight(2))
        .default_target(Route::target("service:rest"));
    assert_eq!(from_text, from_code);
    let checked = from_text.check().unwrap();
    assert_eq!(
        checked.services(),
        [
            ("route[0].upstream".to_owned(), "geo"),
            ("default.upstream".to_owned(), "rest")
        ]
    );
}

/// A service is the target's only upstream; the keys of the built-in client and
/// `relocate` are errors on its target, each at its key; a bad name is refused.
#[test]
fn a_service_target_refuses_the_clients_keys() {
    let text = "[[route]]\nspec = \"::/a\"\nupstream = [\"service:geo\", \"http://127.0.0.1:1\"]\n\
                [[route]]\nspec = \"::/b\"\nupstream = \"service:geo\"\nrelocate = \"plain\"\n\
                host = \"upstream\"\ntimeouts = { connect = \"1s\" }\n\
                upstream_max_connections = 4\nconnect = true\nupgrades = []\n\
                tls = { verify = false }\n\
                [[route]]\nspec = \"::/c\"\nupstream = \"service:\"\n\
                [[route]]\nspec = \"::/d\"\nupstream = \"service:geo\"\nrelocate = \"none\"\n\
                mirror = { upstream = \"http://127.0.0.1:2\" }\ncompress = true\n\
                redirect_https = true\nrequest_buffer = 0\n";
    let errors = Description::from_toml(text)
        .unwrap()
        .check()
        .unwrap_err()
        .to_string();
    assert_eq!(
        errors,
        "route[0].upstream: service:geo must be the only upstream: a service picks its own \
         targets\n\
         route[1].relocate: relocates from the upstream's URL, and service:geo has none: \
         relocate in the service, per target (frontdoor::RelocatedTargets)\n\
         route[1].host: configures the built-in upstream client, which service:geo replaces: \
         configure the service instead\n\
         route[1].timeouts: configures the built-in upstream client, which service:geo \
         replaces: configure the service instead\n\
         route[1].upstream_max_connections: configures the built-in upstream client, which \
         service:geo replaces: configure the service instead\n\
         route[1].connect: configures the built-in upstream client, which service:geo \
         replaces: configure the service instead\n\
         route[1].upgrades: configures the built-in upstream client, which service:geo \
         replaces: configure the service instead\n\
         route[1].tls: applies to https:// upstreams only, and service:geo is not one\n\
         route[2].upstream: a service name is one or more letters, digits, '-', '_' or '.', \
         got \"\""
    );
}

/// The balancer's keys (`health_check`, `discovery`) are errors on a service's
/// target too: the service, not a balancer of the plan's, picks the addresses.
#[test]
fn a_service_target_refuses_health_checks_and_discovery() {
    let text = "[[route]]\nspec = \"::/geo\"\nupstream = \"service:geo\"\n\
                health_check = { path = \"/healthz\" }\ndiscovery = { dns = \"a\" }\n";
    let errors = Description::from_toml(text)
        .unwrap()
        .check()
        .unwrap_err()
        .to_string();
    assert_eq!(
        errors,
        "route[0].health_check: configures the built-in upstream client, which service:geo \
         replaces: configure the service instead\n\
         route[0].discovery: service:geo has no name to look up"
    );
}

/// An origin redirecting every request to `http://{itself}/one/next`.
async fn redirecting() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if socket.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let answer = format!(
                    "HTTP/1.1 302 Found\r\nlocation: http://{addr}/one/next\r\n\
                     content-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    addr
}

/// The relocation of a `service:` route is the mapper's, per chosen target
/// (`RelocatedTargets`): the root follows the mapping, the local root is the route's
/// consumed prefix and the mapping's.
#[tokio::test]
async fn a_mapper_relocates_per_target_under_the_routes_prefix() {
    use crate::relocate::{Profile, RelocateLayer};

    let a = redirecting().await;
    let one: Uri = format!("http://{a}/one").parse().unwrap();
    let mapper = Mapper::builder(move |head: &Parts| Mapping::under(head, "/a", one.clone()))
        .allow(AllowedTargets::parse(["127.0.0.1"]).unwrap())
        .wrap_targets(crate::RelocatedTargets::new(RelocateLayer::new(
            Profile::Plain,
        )))
        .build()
        .unwrap();
    let plan = geo_plan(
        Route::new("::/geo", "service:geo"),
        Options::new().service("geo", mapper),
    );
    let res = call(&plan.service(), "/geo/a/x").await;
    assert_eq!(res.status(), 302);
    assert_eq!(
        res.headers()["location"],
        "http://www.example.com/geo/a/next"
    );
}

#[test]
fn options_with_services_are_send_sync_clone() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    send_sync_clone::<Options>();
    let options = Options::new().service(
        "geo",
        tower::service_fn(|_: Request<Body>| async {
            Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
        }),
    );
    assert!(format!("{options:?}").contains("services: [\"geo\"]"));
}
