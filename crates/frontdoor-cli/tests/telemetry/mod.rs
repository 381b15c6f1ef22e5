//! Request IDs and W3C trace context through the built binary: generated when absent,
//! kept from a trusted proxy and replaced from an untrusted client, the same on the
//! upstream, the response and the access line.

use super::{get, header, json, start, ConfigFile};

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
