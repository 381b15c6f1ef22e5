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
    HtmlRewriter::new(Mapper::new(reloc, Direction::ToLocal), defaults(), LIMITS)
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
    let want = r#"<form action="/sm/node/add" method="post"><form action='/sm/q'><FORM ACTION="/sm/x"><form method="get" action="/sm/y"><a href="/sm/about"><form action="http://localhost:8080/sm/z">"#;
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
        .replace("src='/r/2'", "src='/l/2'")
        .replace("src=\"/r/3\"", "src=\"/l/3\"")
        .replace("href=/r/4>", "href=\"/l/4\">")
        .replace("/r/5?a=1&amp;b=2", "/l/5?a=1&amp;b=2")
        .replace("&#x2F;r/7", "/l/7")
        .replace("\" /r/8 \"", "\" /l/8 \"")
        .replace("'/r/9'", "'/l/9'");
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

#[test]
fn encodes_for_the_quotes() {
    let out = run(
        rewriter("/a'b\"c", "/r"),
        &[b"<a href='/r/x'><a href=\"/r/y\"><a href=/r/z>"],
    );
    assert_eq!(
        out,
        "<a href='/a&#39;b\"c/x'><a href=\"/a'b&quot;c/y\"><a href=\"/a'b&quot;c/z\">"
    );
}

#[test]
fn configured_attributes_only() {
    let reloc = Arc::new(Relocation::try_new("/l", "/r").unwrap());
    let attrs: Arc<[(String, String)]> =
        Arc::from(vec![("div".to_owned(), "data-href".to_owned())]);
    let h = HtmlRewriter::new(Mapper::new(reloc, Direction::ToLocal), attrs, LIMITS);
    let out = run(h, &[b"<a href=\"/r/a\"><DIV Data-Href=\"/r/d\">"]);
    assert_eq!(out, "<a href=\"/r/a\"><DIV Data-Href=\"/l/d\">");
}

#[test]
fn oversized_tags_pass_through() {
    let big = format!(
        "<img src=\"/r/big\" alt=\"{}\"><a href=\"/r/after\">",
        "x>".repeat(4000)
    );
    let out = run(
        rewriter("/l", "/r"),
        &[&big.as_bytes()[..6000], &big.as_bytes()[6000..]],
    );
    assert_eq!(out, big.replace("/r/after", "/l/after"));
    // A long comment or script streams, whatever its length.
    let long = format!(
        "<!--{}--><script>{}</script><a href=\"/r/a\">",
        "c".repeat(9000),
        "s<".repeat(9000)
    );
    let chunks: Vec<&[u8]> = long.as_bytes().chunks(1000).collect();
    let out = run(rewriter("/l", "/r"), &chunks);
    assert_eq!(out, long.replace("/r/a", "/l/a"));
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
        decode(b"/a&amp;b&#47;&#x2f;&lt;").as_deref(),
        Some("/a&b//<")
    );
    assert_eq!(decode(b"/a&b=1&").as_deref(), Some("/a&b=1&"));
    assert_eq!(decode(b"/a&copy;"), None);
    assert_eq!(decode(b"/a&#xZZ;"), None);
    assert_eq!(encode("/a&b\"", None), "\"/a&amp;b&quot;\"");
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
        assert_eq!(cut, page.replace("/r/2", "/l/2"), "split at {i}");
    }
}
