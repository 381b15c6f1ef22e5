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
