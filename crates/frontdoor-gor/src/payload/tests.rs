use super::*;

const REQ: &[u8] = b"POST /p?test=1&xtest=2&sp=a+b%21 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-Dup: 1\r\nX-Dup: 2\r\nCookie: a=1; b=2\r\n\r\nhello";
const RES: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno";

#[test]
fn start_line_fields() {
    assert_eq!(method(REQ), Some("POST"));
    assert_eq!(path(REQ), Some("/p?test=1&xtest=2&sp=a+b%21"));
    assert_eq!(status(RES), Some(404));
    assert_eq!(start_line(RES), b"HTTP/1.1 404 Not Found");
    let res = set_status(RES, 200);
    assert_eq!(
        res,
        b"HTTP/1.1 200 Not Found\r\nContent-Length: 2\r\n\r\nno"
    );
    let req = set_path(REQ, "/q");
    assert_eq!(path(&req), Some("/q"));
    assert_eq!(body(&req), b"hello");
    assert_eq!(method(b""), None);
}

#[test]
fn headers_are_case_insensitive_and_head_only() {
    assert_eq!(header(REQ, "content-length"), Some(&b"5"[..]));
    assert_eq!(header(REQ, "CONTENT-LENGTH"), Some(&b"5"[..]));
    assert_eq!(header(REQ, "x-dup"), Some(&b"1"[..]));
    // A "header" in the body is not a header.
    let p = b"HTTP/1.1 200 OK\r\n\r\nX-In-Body: 1\r\n";
    assert_eq!(header(p, "x-in-body"), None);
    let all = headers(REQ);
    assert_eq!(all.len(), 5);
    assert_eq!(all[2], ("X-Dup", &b"1"[..]));
    assert_eq!(all[3], ("X-Dup", &b"2"[..]));
    // Values may hold ':' and keep their inner spaces.
    let p = b"GET / HTTP/1.1\r\nX-Url:  http://a:1/b c \r\n\r\n";
    assert_eq!(header_str(p, "x-url"), Some("http://a:1/b c"));
}

#[test]
fn set_and_delete_headers() {
    let p = set_header(REQ, "x-dup", b"3");
    assert_eq!(
        headers(&p)
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("x-dup"))
            .count(),
        1
    );
    assert_eq!(header(&p, "X-Dup"), Some(&b"3"[..]));
    let p = set_header(&p, "X-New", b"n");
    assert!(p.ends_with(b"X-New: n\r\n\r\nhello"));
    let p = delete_header(&p, "HOST");
    assert_eq!(header(&p, "host"), None);
    assert_eq!(body(&p), b"hello");
}

#[test]
fn set_body_counts_bytes_and_keeps_binary() {
    let bin = [0u8, 0xff, 0xfe, b'\r', b'\n', 0x80];
    let p = set_body(REQ, &bin);
    assert_eq!(body(&p), bin);
    assert_eq!(header_str(&p, "content-length"), Some("6"));
    let p = set_body(REQ, "héllo".as_bytes());
    assert_eq!(header_str(&p, "content-length"), Some("6"));
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n";
    let p = set_body(chunked, b"new");
    assert_eq!(p, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnew");
}

#[test]
fn chunked_bodies_are_decoded_for_comparison() {
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nok\r\nA\r\n0123456789\r\n0\r\n\r\n";
    assert_eq!(&*decoded_body(chunked), b"ok0123456789");
    let broken = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    assert_eq!(&*decoded_body(broken), b"zz\r\n");
    let c = to_captured(chunked).unwrap();
    assert_eq!(
        (c.status.as_u16(), c.body.as_ref()),
        (200, &b"ok0123456789"[..])
    );
    let short = to_captured(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").unwrap();
    assert_eq!(short.body_state, BodyState::Truncated);
    assert!(to_captured(b"GET / HTTP/1.1\r\n\r\n").is_none());
}

#[test]
fn path_params_match_exact_names() {
    assert_eq!(path_param(REQ, "test").as_deref(), Some("1"));
    assert_eq!(path_param(REQ, "xtest").as_deref(), Some("2"));
    assert_eq!(path_param(REQ, "sp").as_deref(), Some("a b!"));
    assert_eq!(path_param(REQ, "est"), None);
    let p = set_path_param(REQ, "test", "a b&c");
    assert_eq!(path(&p), Some("/p?test=a%20b%26c&xtest=2&sp=a+b%21"));
    let p = set_path_param(&p, "new", "x y");
    assert!(path(&p).unwrap().ends_with("&new=x%20y"));
    let p = set_path_param(b"GET /a HTTP/1.1\r\n\r\n", "k", "v");
    assert_eq!(path(&p), Some("/a?k=v"));
    assert_eq!(percent_decode("%zz%4"), "%zz%4");
}

#[test]
fn cookies() {
    assert_eq!(cookie(REQ, "a"), Some("1"));
    assert_eq!(cookie(REQ, "c"), None);
    let p = set_cookie(REQ, "a", "9");
    assert_eq!(header_str(&p, "cookie"), Some("b=2; a=9"));
    let p = delete_cookie(&p, "a");
    let p = delete_cookie(&p, "b");
    assert_eq!(header(&p, "cookie"), None, "an emptied Cookie header goes");
    // No Cookie header at all: set creates one (Python's AttributeError fixed).
    let p = set_cookie(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", "s", "1");
    assert_eq!(header_str(&p, "cookie"), Some("s=1"));
}

#[test]
fn set_header_leaves_a_payload_without_a_head_unchanged() {
    for p in [
        &b""[..],
        b"\r\n\r\n",
        b"GET / HTTP/1.1",
        b"GET / HTTP/1.1\r\nHost: h",
    ] {
        assert!(!has_head(p), "{p:?}");
        assert_eq!(try_set_header(p, "X-Name", b"v"), Err(PayloadError::NoHead));
        assert_eq!(set_header(p, "X-Name", b"v"), p, "{p:?}");
        assert_eq!(set_body(p, b"x"), p, "{p:?}");
    }
    assert!(has_head(b"GET / HTTP/1.1\r\n\r\n"));
    assert_eq!(
        set_header(b"GET / HTTP/1.1\r\n\r\n", "X-Name", b"v"),
        b"GET / HTTP/1.1\r\nX-Name: v\r\n\r\n"
    );
}
