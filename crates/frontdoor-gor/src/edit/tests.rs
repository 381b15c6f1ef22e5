use super::*;

const REQ: &[u8] = b"GET /v1/a?x=1 HTTP/1.1\r\nHost: h\r\nx-dup: 1\r\nX-Dup: 2\r\nContent-Length: 3\r\n\r\n\x00\xff\r";

fn edits(list: &[Result<RequestEdit, EditSpecError>]) -> RequestEdits {
    RequestEdits::new(list.iter().map(|e| e.clone().unwrap()))
}

#[test]
fn set_header_replaces_the_first_in_place_and_drops_the_rest() {
    let e = edits(&[RequestEdit::set_header(" X-Dup :  3 ")]);
    assert_eq!(
        &e.apply(REQ).unwrap()[..],
        b"GET /v1/a?x=1 HTTP/1.1\r\nHost: h\r\nX-Dup: 3\r\nContent-Length: 3\r\n\r\n\x00\xff\r"
    );
    let e = edits(&[RequestEdit::set_header("X-New:a:b")]);
    assert_eq!(
        &e.apply(REQ).unwrap()[..],
        b"GET /v1/a?x=1 HTTP/1.1\r\nHost: h\r\nx-dup: 1\r\nX-Dup: 2\r\nContent-Length: 3\r\nX-New: a:b\r\n\r\n\x00\xff\r"
    );
}

#[test]
fn edits_apply_in_order_and_borrow_when_nothing_changes() {
    let e = edits(&[
        RequestEdit::set_header("X-A: 1"),
        RequestEdit::remove_header("x-a"),
        RequestEdit::remove_header("X-DUP"),
        RequestEdit::rewrite_path("^/v1/([^?]*)(.*)$:/v2/$1/x$2"),
    ]);
    assert_eq!(
        &e.apply(REQ).unwrap()[..],
        b"GET /v2/a/x?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n\x00\xff\r"
    );
    let none = edits(&[
        RequestEdit::remove_header("x-absent"),
        RequestEdit::rewrite_path("^/nomatch:/x"),
    ]);
    assert!(matches!(none.apply(REQ).unwrap(), Cow::Borrowed(_)));
    assert!(matches!(
        RequestEdits::default().apply(REQ).unwrap(),
        Cow::Borrowed(_)
    ));
}

#[test]
fn a_failing_edit_leaves_the_payload_to_the_caller_and_names_itself() {
    let e = edits(&[
        RequestEdit::remove_header("host"),
        RequestEdit::set_header("X-Name: v"),
        RequestEdit::rewrite_path("^/:/"),
    ]);
    for headless in [
        &b""[..],
        b"GET / HTTP/1.1",
        b"GET / HTTP/1.1\r\nHost: h",
        b"\r\n\r\n",
    ] {
        let err = e.apply(headless).unwrap_err();
        assert_eq!(err.edit, "--set-header X-Name: v", "{headless:?}");
        assert_eq!(err.error, PayloadError::NoHead);
    }
    let e = edits(&[RequestEdit::rewrite_path("a:a b")]);
    let err = e.apply(REQ).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--rewrite-path a:a b: the rewritten path is not a valid request target"
    );
    assert_eq!(
        e.apply(b"").unwrap_err().error,
        PayloadError::NoTarget,
        "no request line"
    );
}

#[test]
fn rewrite_path_splits_at_the_first_unescaped_colon() {
    let e = edits(&[RequestEdit::rewrite_path(r"^/(?\:v1|v2)/a\:b:/c:d")]);
    assert_eq!(
        payload::path(&e.apply(b"GET /v1/a:b HTTP/1.1\r\n\r\n").unwrap()),
        Some("/c:d")
    );
    let e = edits(&[RequestEdit::rewrite_path(r"\d+:N")]);
    assert_eq!(
        payload::path(&e.apply(b"GET /u/12/p/3 HTTP/1.1\r\n\r\n").unwrap()),
        Some("/u/N/p/N")
    );
}

#[test]
fn invalid_flag_values_name_their_flag() {
    let cases = [
        (RequestEdit::set_header("X-Name"), "--set-header \"X-Name\": expected NAME:VALUE"),
        (RequestEdit::set_header(":v"), "--set-header \":v\": \"\" is not a header name"),
        (RequestEdit::set_header("X Y:v"), "--set-header \"X Y:v\": \"X Y\" is not a header name"),
        (
            RequestEdit::set_header("content-length: 5"),
            "--set-header \"content-length: 5\": content-length frames the body and is kept right by frontdoor-gor; it cannot be edited",
        ),
        (
            RequestEdit::remove_header("Transfer-Encoding"),
            "--remove-header \"Transfer-Encoding\": Transfer-Encoding frames the body and is kept right by frontdoor-gor; it cannot be edited",
        ),
        (RequestEdit::rewrite_path("/a"), "--rewrite-path \"/a\": expected REGEX:REPLACEMENT"),
    ];
    for (result, message) in cases {
        assert_eq!(result.unwrap_err().to_string(), message);
    }
    let err = RequestEdit::rewrite_path("(:x").unwrap_err();
    assert_eq!(err.flag(), "--rewrite-path");
    assert!(
        err.to_string()
            .starts_with("--rewrite-path \"(:x\": regex parse error"),
        "{err}"
    );
    let err = RequestEdit::set_header("X-A: a\u{1}b").unwrap_err();
    assert!(
        err.to_string()
            .ends_with("the value has a control character"),
        "{err}"
    );
}

#[test]
fn public_types_are_send_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<RequestEdit>();
    send_sync::<RequestEdits>();
    send_sync::<EditError>();
    send_sync::<EditSpecError>();
}
