//! The `frontdoor-gor` binary fed a recorded GoReplay stream on stdin.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use frontdoor_gor::{Kind, Message};

const RECORDED: &[u8] = include_bytes!("fixtures/recorded.gor");

fn run(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdoor-gor"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|&b| b == b'\n').collect()
}

/// The recorded lines that are messages (the malformed one left out), in order.
fn valid_lines() -> Vec<&'static [u8]> {
    lines(RECORDED)
        .into_iter()
        .filter(|l| Message::decode_line(l).is_ok())
        .collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn default_mode_passes_everything_through_and_reports_status_mismatches() {
    let out = run(&[], RECORDED);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Requests (and responses) pass through unchanged, byte for byte, in order;
    // nothing after the malformed line is lost.
    assert_eq!(lines(&out.stdout), valid_lines());
    assert_eq!(valid_lines().len(), 17);
    let stderr = text(&out.stderr);
    let expected = [
        "frontdoor-gor: 0a1b2c3d4e5f60718293a4b5 GET /users/42: replay status 500 differs from response status 200",
        "frontdoor-gor: line 8: invalid hex digit at byte 0; skipped",
        "frontdoor-gor: e0e1e2e3e4e5e6e7e8e9eaeb GET /e?x=1: replay status 200 differs from response status 404",
        "frontdoor-gor: 17 messages (6 requests, 6 responses, 5 replays), 1 malformed line skipped, 17 written, 0 dropped",
        "frontdoor-gor: 6 exchanges: 3 matched, 2 differing (status 2), 1 incomplete",
    ];
    assert_eq!(stderr.lines().collect::<Vec<_>>(), expected, "{stderr}");
}

#[test]
fn binary_bodies_survive_byte_for_byte() {
    let out = run(&[], RECORDED);
    let upload = lines(&out.stdout)
        .into_iter()
        .map(|l| Message::decode_line(l).unwrap())
        .find(|m| m.kind() == Kind::Request && m.id() == "c0ffee00c0ffee00c0ffee00")
        .unwrap();
    assert!(upload
        .payload()
        .ends_with(&[0, 1, 2, 0xff, 0xfe, 0x80, 0x0d, 0x0a, 0x0d, 0x0a, 0x1f, 0x8b]));
}

#[test]
fn pass_through_echoes_every_message_and_compares_nothing() {
    let out = run(&["--pass-through"], RECORDED);
    assert!(out.status.success());
    assert_eq!(lines(&out.stdout), valid_lines());
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("differs"), "{stderr}");
    assert!(!stderr.contains("exchanges"), "{stderr}");
    assert!(stderr.contains("17 written"), "{stderr}");
}

#[test]
fn other_comparators_and_hidden_responses() {
    let out = run(
        &["--compare", "body", "--no-echo-responses", "--quiet"],
        RECORDED,
    );
    assert!(out.status.success());
    let written: Vec<Message> = lines(&out.stdout)
        .into_iter()
        .map(|l| Message::decode_line(l).unwrap())
        .collect();
    assert_eq!(written.len(), 6);
    assert!(written.iter().all(|m| m.kind() == Kind::Request));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains(": replay body"), "quiet: {stderr}");
    // Bodies differ for the worked example ("" vs "ok"), user 42 and /e (its
    // chunked replay decoded to "ok"); /upload and the old-style id match.
    assert!(
        stderr.ends_with("6 exchanges: 2 matched, 3 differing (body 3), 1 incomplete\n"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_line_mid_stream_loses_nothing_after_it() {
    let a = Message::new(
        Kind::Request,
        "aaaaaaaaaaaaaaaaaaaaaaaa",
        "GET /1 HTTP/1.1\r\n\r\n",
    )
    .unwrap();
    let b = Message::new(
        Kind::Request,
        "bbbbbbbbbbbbbbbbbbbbbbbb",
        "GET /2 HTTP/1.1\r\n\r\n",
    )
    .unwrap();
    let mut input = a.to_line();
    input.extend_from_slice(b"31200\n"); // odd hex
    input.extend_from_slice(b"\xff\xfe garbage\r\n");
    input.extend_from_slice(&b.to_line());
    let out = run(&["--pass-through"], &input);
    assert!(out.status.success());
    assert_eq!(out.stdout, [a.to_line(), b.to_line()].concat());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("line 2: odd number of hex digits; skipped"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 3: invalid hex digit at byte 0; skipped"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&["--bogus"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown argument"));
    let out = run(&["--help"], b"");
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("--pass-through"));
}

#[test]
fn an_8_mib_message_passes_through_whole() {
    let payload: Vec<u8> = b"POST /big HTTP/1.1\r\nContent-Length: 8388608\r\n\r\n"
        .iter()
        .copied()
        .chain((0..8 * 1024 * 1024).map(|i: u32| (i % 251) as u8))
        .collect();
    let msg = Message::new(Kind::Request, "bbbbbbbbbbbbbbbbbbbbbbbb", payload).unwrap();
    let line = msg.to_line();
    let out = run(&[], &line);
    assert!(out.status.success());
    assert!(out.stdout == line, "the 16 MiB line came back changed");
}

/// A message line with GoReplay's full META (type, id, timestamp, latency).
fn line(kind: Kind, id: &str, payload: &[u8]) -> Vec<u8> {
    Message::new(kind, id, payload.to_vec())
        .unwrap()
        .with_timing(1_594_231_584_873_051_000, 0)
        .to_line()
}

const EDITS: &[&str] = &[
    "--pass-through",
    "--rewrite-path",
    "^/v1/([^?]*)$:/v2/$1",
    "--set-header",
    "X-Env: shadow",
    "--remove-header",
    "cookie",
    "--set-header=Host:replay.test",
];

#[test]
fn edit_flags_change_requests_in_order_and_nothing_else() {
    let (a, b, c) = (
        "aaaaaaaaaaaaaaaaaaaaaaaa",
        "bbbbbbbbbbbbbbbbbbbbbbbb",
        "cccccccccccccccccccccccc",
    );
    let body: &[u8] = b"\x00\xff{\"k\": 1}\r\n\r\n";
    let post = [
        &b"POST /v1/users/7?x=1 HTTP/1.1\r\nHost: prod.example\r\nCookie: s=1\r\nContent-Length: 14\r\nCOOKIE: t=2\r\nX-Keep:  spaced \r\n\r\n"[..],
        body,
    ]
    .concat();
    let response: &[u8] = b"HTTP/1.1 200 OK\r\nSet-Cookie: s=2\r\nContent-Length: 2\r\n\r\nok";
    let get = b"GET /v1/a/b HTTP/1.0\r\nX-Env: prod\r\nhost: h\r\nX-Env: other\r\n\r\n";
    let input = [
        line(Kind::Request, a, &post),
        line(Kind::Response, a, response),
        line(Kind::Replay, a, response),
        line(Kind::Request, b, get),
        line(Kind::Other(b'9'), c, b"GET /v1/x HTTP/1.1\r\n\r\n"),
    ]
    .concat();

    let out = run(EDITS, &input);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The path rewrite saw the query (no match: the pattern ends at `$`); the
    // header set where absent goes last, where present replaces the first in
    // place and drops the others; every Cookie goes; the rest (spacing, case,
    // body, Content-Length) is kept byte for byte.
    let edited_post = [
        &b"POST /v1/users/7?x=1 HTTP/1.1\r\nHost: replay.test\r\nContent-Length: 14\r\nX-Keep:  spaced \r\nX-Env: shadow\r\n\r\n"[..],
        body,
    ]
    .concat();
    let edited_get = b"GET /v2/a/b HTTP/1.0\r\nX-Env: shadow\r\nHost: replay.test\r\n\r\n";
    let expected = [
        line(Kind::Request, a, &edited_post),
        line(Kind::Response, a, response),
        line(Kind::Replay, a, response),
        line(Kind::Request, b, edited_get),
        line(Kind::Other(b'9'), c, b"GET /v1/x HTTP/1.1\r\n\r\n"),
    ]
    .concat();
    assert_eq!(text(&out.stdout), text(&expected));
    assert_eq!(
        frontdoor_gor::payload::header_str(&edited_post, "content-length"),
        Some("14")
    );
    assert_eq!(frontdoor_gor::payload::body(&edited_post).len(), 14);
    assert_eq!(
        text(&out.stderr),
        "frontdoor-gor: 5 messages (2 requests, 1 responses, 1 replays), 0 malformed lines skipped, 5 written, 0 dropped\n"
    );
}

#[test]
fn a_request_without_a_head_passes_unchanged_and_is_reported() {
    let ids = ["dddddddddddddddddddddddd", "eeeeeeeeeeeeeeeeeeeeeeee"];
    let input = [
        line(Kind::Request, ids[0], b""),
        line(Kind::Request, ids[1], b"GET /v1/cut HTTP/1.1\r\nHost: h"),
    ]
    .concat();
    let out = run(EDITS, &input);
    assert!(out.status.success());
    assert_eq!(out.stdout, input, "both pass through unchanged");
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "frontdoor-gor: dddddddddddddddddddddddd: --rewrite-path ^/v1/([^?]*)$:/v2/$1: the payload has no request target; message left unchanged",
            "frontdoor-gor: eeeeeeeeeeeeeeeeeeeeeeee: --set-header X-Env: shadow: the payload has no head (empty, or no blank line after the headers); message left unchanged",
        ],
        "{stderr}"
    );
    // Only a header set needs a head: removing one and rewriting the path do not.
    let out = run(
        &["--set-header", "X-A:1"],
        &line(Kind::Request, ids[0], b""),
    );
    assert_eq!(out.stdout, line(Kind::Request, ids[0], b""));
    assert!(text(&out.stderr).starts_with(
        "frontdoor-gor: dddddddddddddddddddddddd: --set-header X-A:1: the payload has no head (empty, or no blank line after the headers); message left unchanged\n"
    ));
}

#[test]
fn invalid_edit_values_fail_at_start_naming_the_flag() {
    for (args, message) in [
        (
            &["--set-header", "X-Env"][..],
            "frontdoor-gor: --set-header \"X-Env\": expected NAME:VALUE",
        ),
        (
            &["--rewrite-path", "([a-z]:/x"],
            "frontdoor-gor: --rewrite-path \"([a-z]:/x\": regex parse error:",
        ),
        (
            &["--rewrite-path", "no-colon"],
            "frontdoor-gor: --rewrite-path \"no-colon\": expected REGEX:REPLACEMENT",
        ),
        (
            &["--remove-header", "Content-Length"],
            "frontdoor-gor: --remove-header \"Content-Length\": Content-Length frames the body",
        ),
    ] {
        // No input: the binary stops before reading any.
        let out = run(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with(message), "{args:?}: {stderr}");
        assert!(stderr.contains("usage: frontdoor-gor"), "{stderr}");
    }
}
