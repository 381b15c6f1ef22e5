//! Request IDs and W3C trace context through the built binary: generated when absent,
//! kept from a trusted proxy and replaced from an untrusted client, the same on the
//! upstream, the response and the access line.

use std::time::Duration;

use super::{get, header, json, start, ConfigFile};

const BOUND: Duration = Duration::from_secs(20);

const ECHO: &str = "[default]\nupstream = \"builtin:echo\"\n";
const TRUSTED: &str = "[resolve]\ntrusted_proxies = [\"127.0.0.1\"]\n";
const CALLER_TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A header of a raw response head.
fn response_header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Whether `id` is a UUID's text: 8-4-4-4-12 lowercase hex digits.
fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            g.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
}

/// The trace ID, parent span ID and flags of a `traceparent`.
fn parts(traceparent: &str) -> (&str, &str, &str) {
    let fields: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(fields.len(), 4, "{traceparent}");
    assert_eq!(fields[0], "00", "{traceparent}");
    (fields[1], fields[2], fields[3])
}

#[tokio::test]
async fn a_request_id_and_a_trace_are_made_and_reach_the_upstream_response_and_log() {
    let file = ConfigFile::new(ECHO);
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let (status, head, body) = get(&fd.addr, "/x", "a.example", "").await;
    assert_eq!(status, 200, "{head}");
    let id = response_header(&head, "x-request-id").expect("no x-request-id");
    assert!(is_uuid(id), "{id}");
    let echoed = json(&body);
    assert_eq!(header(&echoed, "x-request-id"), Some(id));
    let (trace_id, parent, flags) = parts(header(&echoed, "traceparent").unwrap());
    assert_eq!((trace_id.len(), parent.len(), flags), (32, 16, "01"));
    assert_eq!(header(&echoed, "tracestate"), None);
    let line = fd.wait_log("frontdoor::access");
    assert!(
        line.contains(&format!(" request_id={id} trace_id={trace_id} ")),
        "{line}"
    );
}

#[tokio::test]
async fn a_trusted_proxy_keeps_its_ids_and_trace_and_a_client_does_not() {
    let extra =
        format!("X-Request-Id: edge-42\r\ntraceparent: {CALLER_TRACE}\r\ntracestate: vendor=1\r\n");
    let (caller_trace, caller_span, _) = parts(CALLER_TRACE);

    let trusted = ConfigFile::new(&format!("{TRUSTED}{ECHO}"));
    let fd = start(&["-c", trusted.0.to_str().unwrap()]);
    let (_, head, body) = get(&fd.addr, "/x", "a.example", &extra).await;
    assert_eq!(response_header(&head, "x-request-id"), Some("edge-42"));
    let echoed = json(&body);
    assert_eq!(header(&echoed, "x-request-id"), Some("edge-42"));
    let (trace_id, parent, flags) = parts(header(&echoed, "traceparent").unwrap());
    // The caller's trace, continued: the upstream's parent is the front door's span.
    assert_eq!((trace_id, flags), (caller_trace, "01"));
    assert_ne!(parent, caller_span);
    assert_eq!(header(&echoed, "tracestate"), Some("vendor=1"));

    let untrusted = ConfigFile::new(ECHO);
    let fd = start(&["-c", untrusted.0.to_str().unwrap()]);
    let (_, head, body) = get(&fd.addr, "/x", "a.example", &extra).await;
    let id = response_header(&head, "x-request-id").unwrap();
    assert!(is_uuid(id), "{id}");
    let echoed = json(&body);
    assert_eq!(header(&echoed, "x-request-id"), Some(id));
    let (trace_id, _, _) = parts(header(&echoed, "traceparent").unwrap());
    assert_ne!(trace_id, caller_trace);
    assert_eq!(header(&echoed, "tracestate"), None);
}

#[tokio::test]
async fn request_ids_can_be_renamed_trusted_from_anyone_or_turned_off() {
    let renamed = ConfigFile::new(&format!(
        "[server]\nrequest_id = \"x-correlation-id\"\ntrust_request_id = true\n{ECHO}"
    ));
    let fd = start(&["-c", renamed.0.to_str().unwrap()]);
    let (_, head, body) = get(&fd.addr, "/x", "a.example", "X-Correlation-Id: c-7\r\n").await;
    assert_eq!(response_header(&head, "x-correlation-id"), Some("c-7"));
    assert_eq!(header(&json(&body), "x-correlation-id"), Some("c-7"));
    assert_eq!(response_header(&head, "x-request-id"), None);

    let off = ConfigFile::new(&format!("[server]\nrequest_id = false\n{ECHO}"));
    let fd = start(&["-c", off.0.to_str().unwrap()]);
    let (_, head, body) = get(&fd.addr, "/x", "a.example", "").await;
    assert_eq!(response_header(&head, "x-request-id"), None);
    assert_eq!(header(&json(&body), "x-request-id"), None);
    let line = fd.wait_log("frontdoor::access");
    assert!(line.contains(" request_id=- trace_id="), "{line}");
}

/// An OTLP/HTTP receiver on loopback: every span it receives (gzip-decoded protobuf)
/// goes to the channel as (name, kind, attributes); with `hang`, it never answers.
async fn receiver(
    hang: bool,
) -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<(String, i32, Vec<(String, String)>)>,
) {
    use frontdoor::{serve::Server, Body};
    use http_body_util::BodyExt;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;
    use std::io::Read;

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let addr = server.local_addrs().unwrap()[0];
    let svc = tower::service_fn(move |req: http::Request<Body>| {
        let tx = tx.clone();
        async move {
            assert_eq!(req.uri().path(), "/otlp/v1/traces");
            assert_eq!(req.headers()["content-type"], "application/x-protobuf");
            assert_eq!(req.headers()["x-collector-token"], "t0ken");
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut plain)
                .unwrap();
            let export = ExportTraceServiceRequest::decode(&plain[..]).unwrap();
            for spans in export.resource_spans {
                let service = spans.resource.unwrap().attributes[0].clone();
                assert_eq!(service.key, "service.name");
                for scope in spans.scope_spans {
                    for span in scope.spans {
                        let attrs = span
                            .attributes
                            .iter()
                            .map(|kv| {
                                let value = kv.value.as_ref().and_then(|v| v.value.as_ref());
                                (kv.key.clone(), format!("{value:?}"))
                            })
                            .collect();
                        let _ = tx.send((span.name, span.kind, attrs));
                    }
                }
            }
            if hang {
                std::future::pending::<()>().await;
            }
            Ok::<_, std::convert::Infallible>(http::Response::new(Body::empty()))
        }
    });
    tokio::spawn(server.serve(svc));
    (addr, rx)
}

fn otlp_config(collector: std::net::SocketAddr) -> String {
    format!(
        "[tracing]\notlp_endpoint = \"http://{collector}/otlp\"\nservice_name = \"edge\"\n\
         headers = {{ x-collector-token = \"t0ken\" }}\nexport_timeout = \"30s\"\n\n\
         [[route]]\nname = \"api\"\nspec = \"::/api\"\nupstream = \"builtin:echo\"\n"
    )
}

#[tokio::test]
async fn spans_reach_an_otlp_receiver_with_the_route_and_status() {
    let (collector, mut spans) = receiver(false).await;
    let file = ConfigFile::new(&otlp_config(collector));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let (status, head, _) = get(&fd.addr, "/api/users", "a.example", "").await;
    assert_eq!(status, 200);
    let id = response_header(&head, "x-request-id").unwrap().to_owned();
    let mut server = None;
    let mut client = None;
    while server.is_none() || client.is_none() {
        let (name, kind, attrs) = tokio::time::timeout(BOUND, spans.recv())
            .await
            .expect("no span exported")
            .unwrap();
        match kind {
            2 => server = Some((name, attrs)),
            3 => client = Some((name, attrs)),
            other => panic!("span kind {other}"),
        }
    }
    let (name, attrs) = server.unwrap();
    assert_eq!(name, "GET api");
    let has = |attrs: &[(String, String)], key: &str, value: &str| {
        attrs.iter().any(|(k, v)| k == key && v.contains(value))
    };
    assert!(has(&attrs, "frontdoor.route", "\"api\""), "{attrs:?}");
    assert!(has(&attrs, "http.route", "\"::/api\""), "{attrs:?}");
    assert!(
        has(&attrs, "http.response.status_code", "IntValue(200)"),
        "{attrs:?}"
    );
    assert!(has(&attrs, "http.request.method", "\"GET\""), "{attrs:?}");
    assert!(has(&attrs, "client.address", "127.0.0.1"), "{attrs:?}");
    assert!(has(&attrs, "frontdoor.request_id", &id), "{attrs:?}");
    assert!(
        has(&attrs, "http.response.body.size", "IntValue("),
        "{attrs:?}"
    );
    let (_, attrs) = client.unwrap();
    assert!(
        has(&attrs, "http.response.status_code", "IntValue(200)"),
        "{attrs:?}"
    );
}

#[tokio::test]
async fn a_hanging_receiver_slows_no_request() {
    let (collector, mut spans) = receiver(true).await;
    let file = ConfigFile::new(&otlp_config(collector));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let started = tokio::time::Instant::now();
    for _ in 0..20 {
        let (status, _, _) = get(&fd.addr, "/api/users", "a.example", "").await;
        assert_eq!(status, 200);
    }
    // The receiver got the first batch and hangs on it (the export timeout is 30 s);
    // the requests went on meanwhile.
    tokio::time::timeout(BOUND, spans.recv())
        .await
        .expect("no span exported")
        .unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
