use std::sync::Arc;

use super::*;
use crate::relocation::{Direction, Relocation};

const LIMITS: Limits = Limits {
    max_depth: 64,
    max_token: 4096,
};

fn defaults() -> Arc<[(String, String)]> {
    DEFAULT_ATTRIBUTES
        .iter()
        .map(|(e, a)| ((*e).to_owned(), (*a).to_owned()))
        .collect()
}

fn rewriter(local: &str, remote: &str) -> HtmlRewriter {
    let reloc = Arc::new(Relocation::try_new(local, remote).unwrap());
    HtmlRewriter::new(Mapper::new(reloc, Direction::ToLocal), &defaults(), LIMITS)
}

fn run(mut h: HtmlRewriter, chunks: &[&[u8]]) -> String {
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend_from_slice(&h.feed(Bytes::copy_from_slice(chunk)).unwrap());
    }
    out.extend_from_slice(&h.finish().unwrap());
    String::from_utf8(out).unwrap()
}

fn sm(remote: &str, page: &str) -> String {
    run(
        rewriter("http://localhost:8080/sm", remote),
        &[page.as_bytes()],
    )
}

const X24: &str = r#"<form action="/node/add" method="post"><form action='/q'><FORM ACTION="/x"><form method="get" action="/y"><a href="/about"><form action="http://www.sphericalmatrix.com/z">"#;

/// X24 with the 4.5 fixes: boundary-aware, any quotes, any case, any position, and
/// absolute URLs too; `/node/add` becomes `/sm/node/add`, not `/smnode/add`.
#[test]
fn vector_x24() {
    let want = r#"<form action="/sm/node/add" method="post"><form action="/sm/q"><FORM ACTION="/sm/x"><form method="get" action="/sm/y"><a href="/sm/about"><form action="http://localhost:8080/sm/z">"#;
    assert_eq!(sm("http://www.sphericalmatrix.com/", X24), want);
}

/// X25 and X26: segment boundaries, and no regex built from configuration.
#[test]
fn vectors_x25_x26() {
    let page = r#"<form action="/site/node/add"><form action="/siteX/y"><form action="/s.te/z">"#;
    assert_eq!(
        sm("http://www.sphericalmatrix.com/site", page),
        r#"<form action="/sm/node/add"><form action="/siteX/y"><form action="/s.te/z">"#
    );
    assert_eq!(
        sm("http://www.sphericalmatrix.com/s.te", page),
        r#"<form action="/site/node/add"><form action="/siteX/y"><form action="/sm/z">"#
    );
}

#[test]
fn only_markup_is_rewritten() {
    let page = concat!(
        "<!DOCTYPE html><!-- <a href=\"/r/c\"> --><a href=\"/r/1\">text <a href=/r/t></a>",
        "<script>var s = '<a href=\"/r/s\">'; if (a < b) {}</script>",
        "<SCRIPT src='/r/2'></SCRIPT >",
        "<textarea><a href=\"/r/ta\"></textarea><title><img src=/r/ti></title>",
        "<img alt=\"/r/x\" src=\"/r/3\"><link rel=stylesheet href=/r/4>",
        "<iframe src=\"/r/if\"></iframe><div data-href=\"/r/d\"></div>",
        "<a href=\"/r/5?a=1&amp;b=2\"><a href=\"/r/6?x=1&copy;\"><a href=\"&#x2F;r/7\">",
        "<?php echo 1 ?><a href=\" /r/8 \"><a title='x>y' href='/r/9'>",
        "</a href=\"/r/end\"><plaintext><a href=\"/r/p\">"
    );
    let want = page
        .replace("href=\"/r/1\"", "href=\"/l/1\"")
        .replace("href=/r/t>", "href=\"/l/t\">")
        .replace("src='/r/2'", "src=\"/l/2\"")
        .replace("src=\"/r/3\"", "src=\"/l/3\"")
        .replace("href=/r/4>", "href=\"/l/4\">")
        .replace("/r/5?a=1&amp;b=2", "/l/5?a=1&amp;b=2")
        .replace("&#x2F;r/7", "/l/7")
        .replace("\" /r/8 \"", "\" /l/8 \"")
        .replace("'/r/9'", "\"/l/9\"");
    let out = run(rewriter("/l", "/r"), &[page.as_bytes()]);
    assert_eq!(out, want);
    // And cut at every byte: the same output.
    for i in 0..=page.len() {
        let cut = run(
            rewriter("/l", "/r"),
            &[&page.as_bytes()[..i], &page.as_bytes()[i..]],
        );
        assert_eq!(cut, want, "split at {i}");
    }
    let singles: Vec<&[u8]> = page.as_bytes().chunks(1).collect();
    assert_eq!(run(rewriter("/l", "/r"), &singles), want);
}

/// A rewritten value is written between double quotes, whatever it had (lol_html
/// serializes a changed attribute as `name="value"`); the hand tokenizer kept single
/// quotes. Both decode to the same URL.
#[test]
fn encodes_for_double_quotes() {
    let out = run(
        rewriter("/a'b\"c&d", "/r"),
        &[b"<a href='/r/x'><a href=\"/r/y\"><a href=/r/z><a href=/elsewhere>"],
    );
    assert_eq!(
        out,
        "<a href=\"/a'b&quot;c&amp;d/x\"><a href=\"/a'b&quot;c&amp;d/y\">\
         <a href=\"/a'b&quot;c&amp;d/z\"><a href=/elsewhere>"
    );
}

#[test]
fn configured_attributes_only() {
    let reloc = Arc::new(Relocation::try_new("/l", "/r").unwrap());
    let attrs: Arc<[(String, String)]> =
        Arc::from(vec![("div".to_owned(), "data-href".to_owned())]);
    let h = HtmlRewriter::new(Mapper::new(reloc, Direction::ToLocal), &attrs, LIMITS);
    let out = run(h, &[b"<a href=\"/r/a\"><DIV Data-Href=\"/r/d\">"]);
    assert_eq!(out, "<a href=\"/r/a\"><DIV Data-Href=\"/l/d\">");
}

/// `<meta http-equiv="refresh">`'s URL moves as a `Refresh` header's: any case of
/// `http-equiv` and `URL=`, the delay, spacing and quotes kept; a URL outside the
/// remote root, a relative one (it resolves on its own), and other metas left alone.
#[test]
fn meta_refresh() {
    let table = [
        (
            r#"<meta http-equiv="refresh" content="0; url=/r/login?next=/r/a">"#,
            r#"<meta http-equiv="refresh" content="0; url=/l/login?next=/r/a">"#,
        ),
        (
            r#"<META HTTP-EQUIV="Refresh" CONTENT="5;URL=http://origin/r/x">"#,
            r#"<META HTTP-EQUIV="Refresh" CONTENT="5;URL=http://public/l/x">"#,
        ),
        (
            r#"<meta http-equiv="REFRESH" content="  3 ,  Url = '/r/q'  ">"#,
            r#"<meta http-equiv="REFRESH" content="  3 ,  Url = '/l/q'  ">"#,
        ),
        (
            r#"<meta content='10; URL="/r/d"' http-equiv=refresh>"#,
            r#"<meta content="10; URL=&quot;/l/d&quot;" http-equiv=refresh>"#,
        ),
        (
            r#"<meta http-equiv="refresh" content="1; /r/bare">"#,
            r#"<meta http-equiv="refresh" content="1; /l/bare">"#,
        ),
        (
            r#"<meta http-equiv="refresh" content="0; url=/r/a?x=1&amp;y=2">"#,
            r#"<meta http-equiv="refresh" content="0; url=/l/a?x=1&amp;y=2">"#,
        ),
    ];
    for (page, want) in table {
        let out = run(
            rewriter("http://public/l", "http://origin/r"),
            &[page.as_bytes()],
        );
        assert_eq!(out, want, "{page}");
    }
    let (page, want) = table[2];
    for i in 0..=page.len() {
        let cut = run(
            rewriter("http://public/l", "http://origin/r"),
            &[&page.as_bytes()[..i], &page.as_bytes()[i..]],
        );
        assert_eq!(cut, want, "split at {i}");
    }
    let untouched = concat!(
        r#"<meta http-equiv="refresh" content="0; url=/elsewhere/x">"#,
        r#"<meta http-equiv="refresh" content="0; url=http://other/r/x">"#,
        r#"<meta http-equiv="refresh" content="0; url=../r/x">"#,
        r#"<meta http-equiv="refresh" content="30">"#,
        r#"<meta http-equiv="refresh-x" content="0; url=/r/x">"#,
        r#"<meta http-equiv="content-type" content="text/html; url=/r/x">"#,
        r#"<meta name="refresh" content="0; url=/r/x">"#,
        r#"<meta property="og:url" content="/r/x">"#,
        r#"<meta http-equiv="refresh" content="0; url=/r/&copy;">"#,
    );
    assert_eq!(
        run(
            rewriter("http://public/l", "http://origin/r"),
            &[untouched.as_bytes()]
        ),
        untouched
    );
}

/// Feeds `page` in `frame`-byte frames: the output, or the first error.
fn try_run(mut h: HtmlRewriter, page: &[u8], frame: usize) -> Result<String, RewriteError> {
    let mut out = Vec::new();
    for chunk in page.chunks(frame) {
        out.extend_from_slice(&h.feed(Bytes::copy_from_slice(chunk))?);
    }
    out.extend_from_slice(&h.finish()?);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A tag longer than the token cap, cut by frame boundaries, still fits lol_html's
/// budget (twice the cap plus a piece) and is rewritten; one over the budget aborts
/// the rewrite, in any frames (the hand tokenizer passed it on unrewritten and went
/// on).
#[test]
fn oversized_tags_abort() {
    let long = format!(
        "<img src=\"/r/big\" alt=\"{}\"><a href=\"/r/after\">",
        "x>".repeat(2500)
    );
    let out = try_run(rewriter("/l", "/r"), long.as_bytes(), 1000).unwrap();
    assert_eq!(out, long.replace("/r/", "/l/"));
    let big = format!("<img src=\"/r/big\" alt=\"{}\">", "x>".repeat(8000));
    let err = try_run(rewriter("/l", "/r"), big.as_bytes(), 1000).unwrap_err();
    assert_eq!(err.kind(), RewriteErrorKind::TooLarge);
    assert!(err.is_limit());
    // Whatever the frames: lol_html is written in 4 KiB pieces.
    let err = try_run(rewriter("/l", "/r"), big.as_bytes(), big.len()).unwrap_err();
    assert_eq!(err.kind(), RewriteErrorKind::TooLarge);
}

/// A long comment, script or text streams, whatever its length and the frames.
#[test]
fn long_content_streams() {
    let long = format!(
        "<!--{}--><script>{}</script><p>{}</p><a href=\"/r/a\">",
        "c".repeat(90_000),
        "s<".repeat(90_000),
        "t ".repeat(90_000)
    );
    for frame in [1000, 16 * 1024, 100_000] {
        let out = try_run(rewriter("/l", "/r"), long.as_bytes(), frame).unwrap();
        assert_eq!(out, long.replace("/r/a", "/l/a"), "frames of {frame}");
    }
}

/// lol_html closes no element implicitly: its stack of open elements grows with
/// unclosed `<p>`s and empties at their container's end tag. With the default caps
/// (1 MiB) ten thousand fit; with a 4 KiB cap, a few dozen.
#[test]
fn open_elements_count_against_the_budget() {
    let page = |n: usize| format!("<div>{}</div><a href=\"/r/a\">", "<p>x".repeat(n));
    let closed = "<div><p>x</p></div>".repeat(10_000);
    let out = try_run(rewriter("/l", "/r"), closed.as_bytes(), 16 * 1024).unwrap();
    assert_eq!(out, closed);
    let out = try_run(rewriter("/l", "/r"), page(40).as_bytes(), 1000).unwrap();
    assert_eq!(out, page(40).replace("/r/a", "/l/a"));
    let err = try_run(rewriter("/l", "/r"), page(1000).as_bytes(), 1000).unwrap_err();
    assert_eq!(err.kind(), RewriteErrorKind::TooLarge);
    let limits = Limits {
        max_depth: 256,
        max_token: 1024 * 1024,
    };
    let reloc = Arc::new(Relocation::try_new("/l", "/r").unwrap());
    let h = HtmlRewriter::new(Mapper::new(reloc, Direction::ToLocal), &defaults(), limits);
    let out = try_run(h, page(10_000).as_bytes(), 16 * 1024).unwrap();
    assert_eq!(out, page(10_000).replace("/r/a", "/l/a"));
}

/// After a failure (or the end) the rewriter refuses input instead of panicking.
#[test]
fn no_use_after_failure() {
    let mut h = rewriter("/l", "/r");
    let big = format!("<img alt=\"{}", "x".repeat(20_000));
    let failed = big
        .as_bytes()
        .chunks(1000)
        .map(|c| h.feed(Bytes::copy_from_slice(c)))
        .find_map(Result::err)
        .unwrap();
    assert!(failed.is_limit());
    let again = h
        .feed(Bytes::from_static(b"<a href=\"/r/x\">"))
        .unwrap_err();
    assert_eq!(again.kind(), RewriteErrorKind::Malformed);
    assert!(h.finish().is_err());
    let mut done = rewriter("/l", "/r");
    assert!(done.finish().unwrap().is_empty());
    assert!(done.finish().is_err());
}

#[test]
fn unterminated_markup_at_the_end_is_passed_on() {
    for page in [
        "<a href=\"/r/x",
        "<!-- x",
        "<",
        "<!",
        "<script>x</scr",
        "</a",
    ] {
        assert_eq!(run(rewriter("/l", "/r"), &[page.as_bytes()]), page);
    }
}

#[test]
fn decodes_references() {
    assert_eq!(
        decode("/a&amp;b&#47;&#x2f;&lt;").as_deref(),
        Some("/a&b//<")
    );
    assert_eq!(decode("/a&b=1&").as_deref(), Some("/a&b=1&"));
    assert_eq!(decode("/a&copy;"), None);
    assert_eq!(decode("/a&#xZZ;"), None);
    assert_eq!(encode("/a&b\"'"), "/a&amp;b&quot;'");
}

#[test]
fn raw_text_end_tags_cut_anywhere() {
    let page =
        "<script>var s = '<a href=\"/r/s\">'; if (a < b) {}</script><SCRIPT src='/r/2'></SCRIPT >";
    for i in 0..=page.len() {
        let cut = run(
            rewriter("/l", "/r"),
            &[&page.as_bytes()[..i], &page.as_bytes()[i..]],
        );
        let want = page.replace("'/r/2'", "\"/l/2\"");
        assert_eq!(cut, want, "split at {i}");
    }
}

/// Configured names that are not plain CSS identifiers are escaped for the selector.
#[test]
fn names_are_escaped_for_selectors() {
    assert_eq!(css_ident("a"), "a");
    assert_eq!(css_ident("xlink:href"), "xlink\\3a href");
    assert_eq!(css_ident("-x1"), "\\2d x1");
    assert!(selector("", "href").is_none());
    let reloc = Arc::new(Relocation::try_new("/l", "/r").unwrap());
    let attrs: Arc<[(String, String)]> = Arc::from(vec![
        ("use".to_owned(), "xlink:href".to_owned()),
        ("my-el".to_owned(), "data-1".to_owned()),
    ]);
    let h = HtmlRewriter::new(Mapper::new(reloc, Direction::ToLocal), &attrs, LIMITS);
    let page = "<svg><use xlink:href=\"/r/i#a\"/></svg><my-el data-1='/r/m'>";
    assert_eq!(
        run(h, &[page.as_bytes()]),
        "<svg><use xlink:href=\"/l/i#a\" /></svg><my-el data-1=\"/l/m\">"
    );
}

/// A value that is not UTF-8 (lol_html would hand it over with U+FFFD) or starts with
/// a byte order mark (which it would drop) is left as it is.
#[test]
fn inexact_values_are_left_alone() {
    let page: &[u8] = b"<a href=\"/r/\xff\"><a href=\"\xef\xbb\xbf/r/b\"><a href=\"/r/c\">";
    let mut h = rewriter("/l", "/r");
    let mut out = h.feed(Bytes::from_static(page)).unwrap().to_vec();
    out.extend_from_slice(&h.finish().unwrap());
    assert_eq!(
        out,
        b"<a href=\"/r/\xff\"><a href=\"\xef\xbb\xbf/r/b\"><a href=\"/l/c\">"
    );
}

#[test]
fn is_send() {
    fn send<T: Send>() {}
    send::<HtmlRewriter>();
}
