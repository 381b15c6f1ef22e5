use std::sync::Arc;

use super::*;
use crate::relocation::{Direction, Relocation};

const LIMITS: Limits = Limits {
    max_depth: 64,
    max_token: 4096,
};

fn d() -> Arc<Relocation> {
    Arc::new(
        Relocation::try_new("http://localhost:8080/dav", "http://files.internal/webdav/").unwrap(),
    )
}

fn rewriter(rules: &'static XmlRules, reloc: Arc<Relocation>, dir: Direction) -> XmlRewriter {
    XmlRewriter::new(Mapper::new(reloc, dir), rules, LIMITS)
}

/// Feeds `chunks` one by one and finishes.
fn run(mut x: XmlRewriter, chunks: &[&[u8]]) -> Result<String, RewriteError> {
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend_from_slice(&x.feed(Bytes::copy_from_slice(chunk))?);
    }
    out.extend_from_slice(&x.finish()?);
    Ok(String::from_utf8(out).unwrap())
}

fn response(doc: &str) -> Result<String, RewriteError> {
    run(
        rewriter(&XmlRules::WEBDAV, d(), Direction::ToLocal),
        &[doc.as_bytes()],
    )
}

pub(crate) const X12: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:">
<!-- listing -->
<D:response><D:href>/webdav/a%20b.txt</D:href><D:propstat><D:prop><D:displayname>R&amp;D &lt;x&gt;</D:displayname><D:resourcetype/></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
<D:response><D:href>http://files.internal/webdav/sub/</D:href></D:response>
<D:response><D:href>/other/x</D:href></D:response>
</D:multistatus>
"#;

/// X12 with the 4.5 fixes: hrefs moved, everything else byte for byte (escaping,
/// the empty element, the comment, the declaration, the newlines).
#[test]
fn vector_x12() {
    let want = X12
        .replace("<D:href>/webdav/a%20b.txt", "<D:href>/dav/a%20b.txt")
        .replace(
            "http://files.internal/webdav/sub/",
            "http://localhost:8080/dav/sub/",
        );
    assert_eq!(response(X12).unwrap(), want);
}

/// X15: any prefix, or the default namespace.
#[test]
fn vector_x15_any_prefix_or_default_namespace() {
    let lower = r#"<d:multistatus xmlns:d="DAV:"><d:href>/webdav/a</d:href></d:multistatus>"#;
    assert_eq!(
        response(lower).unwrap(),
        lower.replace("/webdav/a", "/dav/a")
    );
    let default =
        r#"<multistatus xmlns="DAV:"><response><href>/webdav/a</href></response></multistatus>"#;
    assert_eq!(
        response(default).unwrap(),
        default.replace("/webdav/a", "/dav/a")
    );
    // A prefix rebound inside the document follows the binding, not the spelling.
    let rebound = r#"<D:x xmlns:D="DAV:"><D:y xmlns:D="urn:other"><D:href>/webdav/a</D:href></D:y><D:href>/webdav/b</D:href></D:x>"#;
    assert_eq!(
        response(rebound).unwrap(),
        rebound.replace("/webdav/b", "/dav/b")
    );
    // No namespace at all: not DAV's href.
    let none = "<multistatus><href>/webdav/a</href></multistatus>";
    assert_eq!(response(none).unwrap(), none);
}

/// X16: segment boundaries; whitespace trimmed for matching, kept in the output.
#[test]
fn vector_x16() {
    let doc = |a: &str, b: &str, c: &str, e: &str| {
        format!(
            r#"<D:m xmlns:D="DAV:"><D:href>{a}</D:href><D:href>{b}</D:href><D:href>{c}</D:href><D:href>{e}</D:href></D:m>"#
        )
    };
    let input = doc("/webdav/a", "/webdav", "/webdavx", " /webdav/b \n");
    let want = doc("/dav/a", "/dav", "/webdavx", " /dav/b \n");
    assert_eq!(response(&input).unwrap(), want);
}

/// X17: a request body moves local to remote; the empty element stays empty.
#[test]
fn vector_x17_request() {
    let input = r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:href>/dav/q</D:href><D:allprop/></D:propfind>"#;
    let x = rewriter(&XmlRules::WEBDAV, d(), Direction::ToRemote);
    let out = run(x, &[input.as_bytes()]).unwrap();
    assert_eq!(out, input.replace("/dav/q", "/webdav/q"));
}

/// X20: non-ASCII text is bytes in, bytes out.
#[test]
fn vector_x20_utf8() {
    let input = r#"<D:m xmlns:D="DAV:"><D:href>/webdav/café</D:href></D:m>"#;
    let out = response(input).unwrap();
    assert_eq!(out, input.replace("/webdav/café", "/dav/café"));
    assert_eq!(out.len(), input.len() - 3);
}

/// X23: Subversion, both directions, attribute order and self-closing tags kept.
#[test]
fn vector_x23_svn() {
    let b = Arc::new(
        Relocation::try_new(
            "http://www.example.com/svn",
            "http://svn.example.com/repos/morph",
        )
        .unwrap(),
    );
    let request = r#"<S:update-report xmlns:S="svn:"><S:src-path>http://www.example.com/svn/trunk</S:src-path><S:target-revision>5</S:target-revision><S:entry rev="5" start-empty="true"/></S:update-report>"#;
    let out = run(
        rewriter(&XmlRules::SVN, Arc::clone(&b), Direction::ToRemote),
        &[request.as_bytes()],
    )
    .unwrap();
    assert_eq!(
        out,
        request.replace(
            "http://www.example.com/svn/trunk",
            "http://svn.example.com/repos/morph/trunk"
        )
    );
    let response = r#"<S:update-report xmlns:S="svn:" xmlns:D="DAV:" send-all="true"><D:checked-in><D:href>/repos/morph/!svn/ver/5/trunk</D:href></D:checked-in><S:add-directory name="sub" bc-url="/repos/morph/!svn/bc/5/trunk/sub" copyfrom-path="/x"/><S:open-directory rev="5"/></S:update-report>"#;
    let out = run(
        rewriter(&XmlRules::SVN, b, Direction::ToLocal),
        &[response.as_bytes()],
    )
    .unwrap();
    let want = response
        .replace(
            "<D:href>/repos/morph/!svn/ver/5/trunk",
            "<D:href>/svn/!svn/ver/5/trunk",
        )
        .replace(
            "bc-url=\"/repos/morph/!svn/bc/5/trunk/sub\"",
            "bc-url=\"/svn/!svn/bc/5/trunk/sub\"",
        );
    assert_eq!(out, want);
}

#[test]
fn escaping_comments_pis_cdata_and_quotes_are_kept() {
    let input = "<?xml version='1.0' standalone='yes'?>\n<!DOCTYPE m>\n<?pi data?>\
        <D:m xmlns:D='DAV:' a='1' b=\"2\"><![CDATA[<raw>]]>&#65;&amp;\
        <D:href>/webdav/x?a=1&amp;b=2</D:href><D:href><![CDATA[/webdav/c]]></D:href>\
        <D:href>&#x2F;webdav&#47;e</D:href><D:href>/we<!--c-->bdav/f</D:href></D:m>\n";
    let want = input
        .replace("/webdav/x?a=1&amp;b=2", "/dav/x?a=1&amp;b=2")
        .replace("<![CDATA[/webdav/c]]>", "/dav/c")
        .replace("&#x2F;webdav&#47;e", "/dav/e");
    assert_eq!(response(input).unwrap(), want);
}

#[test]
fn svn_attribute_escaping() {
    let b = Arc::new(Relocation::try_new("/s&v", "/r").unwrap());
    let input = r#"<S:a xmlns:S="svn:" bc-url='/r/x' other="/r/y"/>"#;
    let out = run(
        rewriter(&XmlRules::SVN, b, Direction::ToLocal),
        &[input.as_bytes()],
    )
    .unwrap();
    assert_eq!(
        out,
        r#"<S:a xmlns:S="svn:" bc-url='/s&amp;v/x' other="/r/y"/>"#
    );
}

/// A URL split at every possible byte boundary, and every two-way split of the whole
/// document, give the same output as one buffer.
#[test]
fn every_chunk_boundary_gives_the_same_output() {
    let whole = response(X12).unwrap();
    let bytes = X12.as_bytes();
    for i in 0..=bytes.len() {
        let x = rewriter(&XmlRules::WEBDAV, d(), Direction::ToLocal);
        let out = run(x, &[&bytes[..i], &bytes[i..]]).unwrap();
        assert_eq!(out, whole, "split at {i}");
    }
    // Byte by byte.
    let x = rewriter(&XmlRules::WEBDAV, d(), Direction::ToLocal);
    let singles: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(run(x, &singles).unwrap(), whole);
    // Three-way splits around the first href.
    let at = X12.find("/webdav/a").unwrap();
    for i in at - 10..at + 12 {
        for j in i..at + 20 {
            let x = rewriter(&XmlRules::WEBDAV, d(), Direction::ToLocal);
            let out = run(x, &[&bytes[..i], &bytes[i..j], &bytes[j..]]).unwrap();
            assert_eq!(out, whole, "split at {i}, {j}");
        }
    }
}

#[test]
fn malformed_documents_abort() {
    let cases = [
        r#"<D:m xmlns:D="DAV:"><D:href>/webdav/a</D:m>"#,
        r#"<D:m xmlns:D="DAV:"><D:href>/webdav/a</D:href>"#,
        r#"<D:m xmlns:D="DAV:"></D:m></D:m>"#,
        r#"<D:m xmlns:D="DAV:"><D:href>/webdav/a&bogus;</D:href></D:m>"#,
        r#"<D:m xmlns:D="DAV:"><D:href>/webdav/a & b</D:href></D:m>"#,
        r#"<D:m xmlns:D="DAV:"><D:href"#,
        "<a><!-- unclosed",
    ];
    for doc in cases {
        // Whole, and split into two chunks anywhere: always an error, never output
        // that looks finished.
        assert!(response(doc).is_err(), "{doc}");
        for i in 0..doc.len() {
            let x = rewriter(&XmlRules::WEBDAV, d(), Direction::ToLocal);
            assert!(
                run(x, &[&doc.as_bytes()[..i], &doc.as_bytes()[i..]]).is_err(),
                "{doc} at {i}"
            );
        }
    }
    let err = response("<a></b>").unwrap_err();
    assert_eq!(err.kind(), RewriteErrorKind::Malformed);
    // An undefined entity outside URL text is passed through untouched (no DTD is
    // processed, so nothing is expanded).
    let ok = "<!DOCTYPE m [<!ENTITY e \"boom\">]><m>&e;</m>";
    assert_eq!(response(ok).unwrap(), ok);
}

#[test]
fn caps_are_enforced() {
    let deep = "<a>".repeat(65) + &"</a>".repeat(65);
    let err = response(&deep).unwrap_err();
    assert_eq!(err.kind(), RewriteErrorKind::TooDeep);
    let ok = "<a>".repeat(64) + &"</a>".repeat(64);
    assert_eq!(response(&ok).unwrap(), ok);
    // A tag longer than the token cap, cut by the end of a buffer.
    let long = format!("<a x=\"{}\"/>", "y".repeat(5000));
    let x = rewriter(&XmlRules::WEBDAV, d(), Direction::ToLocal);
    let err = run(x, &[&long.as_bytes()[..4500], &long.as_bytes()[4500..]]).unwrap_err();
    assert_eq!(err.kind(), RewriteErrorKind::TooLarge);
    // Open elements whose names and declarations together pass the cap.
    let long_name = format!(
        "<{} xmlns:p=\"urn:{}\">",
        "n".repeat(1000),
        "u".repeat(1000)
    );
    let nested = long_name.repeat(3);
    assert_eq!(
        response(&nested).unwrap_err().kind(),
        RewriteErrorKind::TooLarge
    );
    // URL text longer than the cap.
    let href = format!(
        r#"<D:href xmlns:D="DAV:">/webdav/{}</D:href>"#,
        "z".repeat(5000)
    );
    assert_eq!(
        response(&href).unwrap_err().kind(),
        RewriteErrorKind::TooLarge
    );
    // Long text elsewhere streams, whatever its length.
    let text = format!("<a>{}</a>", "t".repeat(50_000));
    assert_eq!(response(&text).unwrap(), text);
}

#[test]
fn empty_and_utf16_bodies() {
    assert_eq!(response("").unwrap(), "");
    let x = rewriter(&XmlRules::WEBDAV, d(), Direction::ToLocal);
    let mut x = x;
    let utf16 = Bytes::from_static(&[0xff, 0xfe, b'<', 0, b'a', 0]);
    assert_eq!(x.feed(utf16.clone()).unwrap(), utf16);
    assert!(x.finish().unwrap().is_empty());
}
