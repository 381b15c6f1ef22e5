//! Spec 1.7 vectors (F1..F37, Pound E1..E5, the Apache mod_proxy recipe) as
//! table-driven tests against an echo service, in strict and WFront 0.4 compat mode
//! (spec 4.8: where a vector flips, both outcomes are asserted).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod support;

use frontdoor_cleanup::{expand, CleanupErrorKind, Mode, Rules, Syntax, Target};
use regex::Regex;
use support::{env, request, run};

type Pairs = &'static [(&'static str, Option<&'static str>)];
type Env = &'static [(&'static str, &'static str)];

/// One vector: rules (WFront text syntax), an input environ, and the environ the
/// inner service sees. `uri` in an expected environ is the inner `uri()`.
struct Case {
    id: &'static str,
    syntax: Syntax,
    rules: Pairs,
    input: Env,
    strict: Env,
    /// `None`: the same as strict.
    compat: Option<Env>,
}

const V: Syntax = Syntax::Verbose;
const S: Syntax = Syntax::Shortcut;

#[rustfmt::skip]
const CASES: &[Case] = &[
    // F1: copy (and idempotent, see f1_copy_twice)
    Case { id: "F1", syntax: V, rules: &[("wfront.copy.A", Some("B"))],
        input: &[("A", "hi")], strict: &[("A", "hi"), ("B", "hi")], compat: None },
    // F2: set-default when absent or empty
    Case { id: "F2a", syntax: V, rules: &[("wfront.setdefault.A", Some("foo"))],
        input: &[("A", "bar")], strict: &[("A", "bar")], compat: None },
    Case { id: "F2b", syntax: V, rules: &[("wfront.setdefault.A", Some("foo"))],
        input: &[], strict: &[("A", "foo")], compat: None },
    Case { id: "F2c", syntax: V, rules: &[("wfront.setdefault.A", Some("foo"))],
        input: &[("A", "")], strict: &[("A", "foo")], compat: None },
    // F3: set-default with a reference; missing renders empty
    Case { id: "F3a", syntax: V, rules: &[("wfront.setdefault.A", Some("%(B)s"))],
        input: &[("A", ""), ("B", "foo")], strict: &[("A", "foo"), ("B", "foo")], compat: None },
    Case { id: "F3b", syntax: V, rules: &[("wfront.setdefault.A", Some("%(B)s"))],
        input: &[], strict: &[("A", "")], compat: None },
    // F4, F5: subtract on a non-path target removes the first occurrence anywhere
    Case { id: "F4", syntax: V, rules: &[("wfront.subtract.A", Some("foo"))],
        input: &[("A", "foobarbazquux")], strict: &[("A", "barbazquux")], compat: None },
    Case { id: "F5", syntax: V, rules: &[("wfront.subtract.A", Some("bar"))],
        input: &[("A", "foobarbazquuxfoobarbazquux")],
        strict: &[("A", "foobazquuxfoobarbazquux")], compat: None },
    // F6, F7: sub removes the first regex match (search)
    Case { id: "F6", syntax: V, rules: &[("wfront.sub.A", Some("[Qq]uux"))],
        input: &[("A", "foobarbazquux")], strict: &[("A", "foobarbaz")], compat: None },
    Case { id: "F7", syntax: V, rules: &[("wfront.sub.A", Some("quu+x"))],
        input: &[("A", "foobarbazquuxquuux")], strict: &[("A", "foobarbazquuux")], compat: None },
    // F8..F12: templates
    Case { id: "F8", syntax: V, rules: &[("wfront.sprintf.A", Some("%s_append"))],
        input: &[("A", "foo")], strict: &[("A", "foo_append")], compat: None },
    Case { id: "F9", syntax: V, rules: &[("wfront.sprintf.A", Some("%(A)s_append"))],
        input: &[("A", "foo")], strict: &[("A", "foo_append")], compat: None },
    Case { id: "F10a", syntax: V, rules: &[("wfront.sprintf.A", Some("%(B)s_append"))],
        input: &[("A", "foo"), ("B", "bar")], strict: &[("A", "bar_append"), ("B", "bar")], compat: None },
    Case { id: "F10b", syntax: V, rules: &[("wfront.sprintf.A", Some("%(B)s_append"))],
        input: &[("B", "bar")], strict: &[("A", "bar_append"), ("B", "bar")], compat: None },
    Case { id: "F10c", syntax: V, rules: &[("wfront.sprintf.A", Some("%(B)s_append"))],
        input: &[], strict: &[("A", "_append")], compat: None },
    Case { id: "F11", syntax: V, rules: &[("wfront.sprintf.A", Some("%s%(B)s"))],
        input: &[("A", "foo"), ("B", "bar")], strict: &[("A", "foobar"), ("B", "bar")], compat: None },
    Case { id: "F12", syntax: V, rules: &[("wfront.sprintf.A", Some("%(bogus)s"))],
        input: &[("A", "foo")], strict: &[("A", "")], compat: None },
    // F13: remove
    Case { id: "F13a", syntax: V, rules: &[("wfront.remove.A", None)],
        input: &[("A", "foo")], strict: &[], compat: None },
    Case { id: "F13b", syntax: V, rules: &[("wfront.remove.B", Some(""))],
        input: &[("A", "foo")], strict: &[("A", "foo")], compat: None },
    // F14, F15: strip_path on REQUEST_URI, PATH_INFO and SCRIPT_NAME
    Case { id: "F14", syntax: V, rules: &[("wfront.strip_path", Some("/pony"))],
        input: &[("PATH_INFO", "/pony/powered"), ("SCRIPT_NAME", "/pony/powered"),
                 ("REQUEST_URI", "/pony/powered"), ("foo", "bar")],
        strict: &[("PATH_INFO", "/powered"), ("SCRIPT_NAME", "/powered"),
                  ("REQUEST_URI", "/powered"), ("foo", "bar"), ("uri", "/powered")],
        compat: None },
    Case { id: "F15", syntax: V, rules: &[("wfront.strip_path", Some("/pony"))],
        input: &[("PATH_INFO", "/unicorn/powered"), ("SCRIPT_NAME", "/pony/powered"),
                 ("REQUEST_URI", "/pony/powered")],
        strict: &[("PATH_INFO", "/unicorn/powered"), ("SCRIPT_NAME", "/powered"),
                  ("REQUEST_URI", "/powered"), ("uri", "/unicorn/powered")],
        compat: None },
    // F16: reset_host from the resolver's verdict (Resolved)
    Case { id: "F16a", syntax: V, rules: &[("wfront.reset_host", Some(""))],
        input: &[("RESOLVED", "server:80:/")],
        strict: &[("HTTP_HOST", "server"), ("wsgi.url_scheme", "http")], compat: None },
    Case { id: "F16b", syntax: V, rules: &[("wfront.reset_host", Some(""))],
        input: &[("HTTP_HOST", "default_is_trusted"), ("RESOLVED", "default_is_trusted:80:/")],
        strict: &[("HTTP_HOST", "default_is_trusted"), ("wsgi.url_scheme", "http")], compat: None },
    Case { id: "F16c", syntax: V, rules: &[("wfront.reset_host", Some(""))],
        input: &[("HTTP_HOST", "overwritten"), ("HTTP_X_FORWARDED_FOR", "1.2.3.4"),
                 ("RESOLVED", "server:80:/")],
        strict: &[("HTTP_HOST", "server"), ("HTTP_X_FORWARDED_FOR", "1.2.3.4"),
                  ("wsgi.url_scheme", "http")], compat: None },
    // F17: the fixed category order, whatever the given order
    Case { id: "F17a", syntax: V,
        rules: &[("X", Some("final")), ("wfront.remove.X", Some("")), ("wfront.setdefault.X", Some("sd")),
                 ("wfront.sprintf.X", Some("[%s]")), ("wfront.subtract.X", Some("a")), ("wfront.copy.Y", Some("X"))],
        input: &[("Y", "abc")], strict: &[("X", "final"), ("Y", "abc")], compat: None },
    Case { id: "F17b", syntax: V,
        rules: &[("wfront.remove.X", Some("")), ("wfront.setdefault.X", Some("sd")),
                 ("wfront.sprintf.X", Some("[%s]")), ("wfront.subtract.X", Some("a")), ("wfront.copy.Y", Some("X"))],
        input: &[("Y", "abc")], strict: &[("Y", "abc")], compat: None },
    Case { id: "F17c", syntax: V,
        rules: &[("wfront.setdefault.X", Some("sd")), ("wfront.sprintf.X", Some("[%s]")),
                 ("wfront.subtract.X", Some("a")), ("wfront.copy.Y", Some("X"))],
        input: &[("Y", "abc")], strict: &[("X", "[bc]"), ("Y", "abc")], compat: None },
    // F18: no fast path, in either mode: replace sets B, no literal key leaks
    Case { id: "F18", syntax: V, rules: &[("A", Some("borg")), ("wfront.replace.B", Some("xyz"))],
        input: &[("SCRIPT_NAME", "/p"), ("PATH_INFO", "/q")],
        strict: &[("A", "borg"), ("B", "xyz"), ("SCRIPT_NAME", "/p"), ("PATH_INFO", "/q")],
        compat: None },
    // F19
    Case { id: "F19", syntax: V, rules: &[("A", Some("borg")), ("wfront.remove.HTTP_HOST", Some(""))],
        input: &[("HTTP_HOST", "localhost")], strict: &[("A", "borg")], compat: None },
    // F20: route ::/-https has consumed /-https; the filter strips it and sets HTTPS
    Case { id: "F20", syntax: V, rules: &[("wfront.strip_path", Some("/-https")), ("HTTPS", Some("ON"))],
        input: &[("SCRIPT_NAME", "/-https"), ("PATH_INFO", "/x"), ("REQUEST_URI", "/-https/x"),
                 ("RESOLVED", "localhost:80:/-https/x")],
        strict: &[("SCRIPT_NAME", ""), ("PATH_INFO", "/x"), ("REQUEST_URI", "/x"),
                  ("wsgi.url_scheme", "https"), ("uri", "/x")],
        compat: None },
    // F21: the filter overrides consumption
    Case { id: "F21", syntax: V, rules: &[("SCRIPT_NAME", Some("/"))],
        input: &[("SCRIPT_NAME", "/p"), ("PATH_INFO", "/q")],
        strict: &[("SCRIPT_NAME", "/"), ("PATH_INFO", "/q"), ("uri", "/q")], compat: None },
    // F22: IPv6 (fixed in strict; WFront's split emulated in compat)
    Case { id: "F22a", syntax: V, rules: &[("wfront.reset_host", None)],
        input: &[("HTTP_HOST", "[::1]"), ("RESOLVED", "[::1]:80:/")],
        strict: &[("HTTP_HOST", "[::1]"), ("wsgi.url_scheme", "http")],
        compat: Some(&[("HTTP_HOST", "[:"), ("wsgi.url_scheme", "http")]) },
    Case { id: "F22b", syntax: V, rules: &[("wfront.reset_host", None)],
        input: &[("HTTP_HOST", "[::1]:8080"), ("RESOLVED", "[::1]:8080:/")],
        strict: &[("HTTP_HOST", "[::1]:8080"), ("wsgi.url_scheme", "http")],
        compat: Some(&[("HTTP_HOST", "[:"), ("wsgi.url_scheme", "http")]) },
    // F23
    Case { id: "F23", syntax: V, rules: &[("wfront.sprintf.SCRIPT_NAME", Some("/prefix%s"))],
        input: &[("SCRIPT_NAME", "/p"), ("PATH_INFO", "/q")],
        strict: &[("SCRIPT_NAME", "/prefix/p"), ("PATH_INFO", "/q"), ("uri", "/q")], compat: None },
    // F24: shortcut syntax, all categories at once
    Case { id: "F24", syntax: S,
        rules: &[("%SCRIPT_NAME", Some("/prefix%s")), ("-PATH_INFO", Some("/q")),
                 ("HTTP_HOST", None), (">host", Some("1"))],
        input: &[("SCRIPT_NAME", "/p"), ("PATH_INFO", "/q"), ("HTTP_HOST", "localhost"),
                 ("RESOLVED", "localhost:80:/p/q")],
        strict: &[("SCRIPT_NAME", "/prefix/p"), ("PATH_INFO", ""), ("HTTP_HOST", "localhost"),
                  ("wsgi.url_scheme", "http"), ("uri", "/")],
        compat: None },
    // F25: reset_host runs after set
    Case { id: "F25", syntax: V, rules: &[("wfront.reset_host", Some("1")), ("HTTP_HOST", Some("zzz"))],
        input: &[("HTTP_HOST", "h:8080"), ("RESOLVED", "h:8080:/")],
        strict: &[("HTTP_HOST", "h:8080"), ("wsgi.url_scheme", "http")], compat: None },
    // F26: the default port of the effective scheme is omitted
    Case { id: "F26a", syntax: V, rules: &[("wfront.reset_host", None)],
        input: &[("HTTP_HOST", "h:443"), ("RESOLVED", "h:443:/")],
        strict: &[("HTTP_HOST", "h"), ("wsgi.url_scheme", "https")], compat: None },
    Case { id: "F26b", syntax: V, rules: &[("wfront.reset_host", None)],
        input: &[("HTTP_HOST", "h"), ("RESOLVED", "h:443:/"), ("wsgi.url_scheme", "https")],
        strict: &[("HTTP_HOST", "h"), ("wsgi.url_scheme", "https")], compat: None },
    // W12 twin of F26: 443 over plain http keeps its port in strict mode only
    Case { id: "F26-W12", syntax: V, rules: &[("wfront.reset_host", None)],
        input: &[("RESOLVED", "h:443:/"), ("wsgi.url_scheme", "http")],
        strict: &[("HTTP_HOST", "h:443"), ("wsgi.url_scheme", "http")],
        compat: Some(&[("HTTP_HOST", "h"), ("wsgi.url_scheme", "http")]) },
    // F27: not prefix-anchored in WFront; anchored on a segment boundary in strict
    Case { id: "F27a", syntax: V, rules: &[("wfront.subtract.PATH_INFO", Some("/pony"))],
        input: &[("PATH_INFO", "/my/pony/x")],
        strict: &[("PATH_INFO", "/my/pony/x"), ("SCRIPT_NAME", ""), ("uri", "/my/pony/x")],
        compat: Some(&[("PATH_INFO", "/my/x"), ("SCRIPT_NAME", ""), ("uri", "/my/x")]) },
    Case { id: "F27b", syntax: V, rules: &[("wfront.strip_path", Some("/pony"))],
        input: &[("PATH_INFO", "/my/pony/x")],
        strict: &[("PATH_INFO", "/my/pony/x"), ("SCRIPT_NAME", ""), ("uri", "/my/pony/x")],
        compat: Some(&[("PATH_INFO", "/my/x"), ("SCRIPT_NAME", ""), ("uri", "/my/x")]) },
    // S3 twin: no prefix without a boundary (/pony does not strip /ponyx)
    Case { id: "F27-S3", syntax: S, rules: &[("-/", Some("/pony"))],
        input: &[("PATH_INFO", "/ponyx/y")],
        strict: &[("PATH_INFO", "/ponyx/y"), ("SCRIPT_NAME", ""), ("uri", "/ponyx/y")],
        compat: Some(&[("PATH_INFO", "x/y"), ("SCRIPT_NAME", ""), ("uri", "/x/y")]) },
    // F28: values are strings already
    Case { id: "F28", syntax: V, rules: &[("wfront.subtract.N", Some("x"))],
        input: &[("N", "5")], strict: &[("N", "5")], compat: None },
    // F29: there are no ints; the string "0" is a value (WFront's falsy 0 has no equivalent)
    Case { id: "F29", syntax: V, rules: &[("wfront.setdefault.A", Some("v"))],
        input: &[("A", "0")], strict: &[("A", "0")], compat: None },
    // F32: a plain key; HTTPS maps onto the scheme
    Case { id: "F32", syntax: V, rules: &[("HTTPS", Some("on")), ("mode", Some("wap"))],
        input: &[("RESOLVED", "h:80:/")],
        strict: &[("wsgi.url_scheme", "https"), ("mode", "wap")], compat: None },
    // query kept byte for byte through a path-info rewrite
    Case { id: "query", syntax: S, rules: &[("-PATH_INFO", Some("/app"))],
        input: &[("PATH_INFO", "/app/x"), ("QUERY_STRING", "a=%2F&b")],
        strict: &[("PATH_INFO", "/x"), ("SCRIPT_NAME", ""), ("uri", "/x?a=%2F&b")], compat: None },
    // Pound recipes (1.7.7)
    Case { id: "E1", syntax: V, rules: &[("wfront.setdefault.HTTP_HOST", Some("host1.domain"))],
        input: &[], strict: &[("HTTP_HOST", "host1.domain")], compat: None },
    Case { id: "E2", syntax: V, rules: &[("wfront.setdefault.HTTP_HOST", Some("host1.domain"))],
        input: &[("HTTP_HOST", "squiznart")], strict: &[("HTTP_HOST", "squiznart")], compat: None },
    Case { id: "E3", syntax: V, rules: &[("wfront.setdefault.HTTP_HOST", Some("%(HTTP_X_FALLBACK_HOST)s"))],
        input: &[("HTTP_HOST", "foo")], strict: &[("HTTP_HOST", "foo")], compat: None },
    Case { id: "E4", syntax: V, rules: &[("wfront.setdefault.HTTP_HOST", Some("%(HTTP_X_FALLBACK_HOST)s"))],
        input: &[("HTTP_X_FALLBACK_HOST", "squiznart")],
        strict: &[("HTTP_HOST", "squiznart"), ("HTTP_X_FALLBACK_HOST", "squiznart")], compat: None },
    Case { id: "E5", syntax: V, rules: &[("wfront.sprintf.wsgi.url_scheme", Some("%(HTTP_X_SCHEME)s"))],
        input: &[("HTTP_X_SCHEME", "https"), ("RESOLVED", "h:80:/")],
        strict: &[("HTTP_X_SCHEME", "https"), ("wsgi.url_scheme", "https")], compat: None },
    // E5 without X-Scheme: WFront set the scheme to ''; '' is no scheme, so the rule is skipped
    Case { id: "E5-empty", syntax: V, rules: &[("wfront.sprintf.wsgi.url_scheme", Some("%(HTTP_X_SCHEME)s"))],
        input: &[("RESOLVED", "h:80:/")], strict: &[("wsgi.url_scheme", "http")], compat: None },
];

/// The Apache mod_proxy recipe (1.7.8): the two marker routes' filters, applied as the
/// router hands requests to them (prefix consumed, M30).
const MODPROXY_HTTPS: Pairs = &[
    ("wsgi.url_scheme", Some("https")),
    ("HTTPS", Some("ON")),
    ("HTTP_X_FORWARDED_PORT", Some("443")),
    (
        "wfront.setdefault.HTTP_HOST",
        Some("%(X_FORWARDED_FOR_SERVER)s"),
    ),
    ("wfront.strip_path", Some("/-https")),
];
const MODPROXY_HTTP: Pairs = &[("wfront.strip_path", Some("/-http"))];

#[rustfmt::skip]
const MODPROXY_CASES: &[Case] = &[
    // M30: /-https/x through the https route
    Case { id: "M30", syntax: V, rules: MODPROXY_HTTPS,
        input: &[("SCRIPT_NAME", "/-https"), ("PATH_INFO", "/x"), ("REQUEST_URI", "/-https/x"),
                 ("HTTP_HOST", "host1.domain"), ("RESOLVED", "host1.domain:80:/-https/x")],
        strict: &[("SCRIPT_NAME", ""), ("PATH_INFO", "/x"), ("REQUEST_URI", "/x"),
                  ("HTTP_HOST", "host1.domain"), ("HTTP_X_FORWARDED_PORT", "443"),
                  ("wsgi.url_scheme", "https"), ("uri", "/x")],
        compat: None },
    // M30 without Host: the recipe's setdefault reads a key no server sets, so Host is ''
    // (an empty header value is valid)
    Case { id: "M30-nohost", syntax: V, rules: MODPROXY_HTTPS,
        input: &[("SCRIPT_NAME", "/-https"), ("PATH_INFO", "/x"), ("REQUEST_URI", "/-https/x"),
                 ("RESOLVED", "host1.domain:80:/-https/x")],
        strict: &[("SCRIPT_NAME", ""), ("PATH_INFO", "/x"), ("REQUEST_URI", "/x"),
                  ("HTTP_HOST", ""), ("HTTP_X_FORWARDED_PORT", "443"),
                  ("wsgi.url_scheme", "https"), ("uri", "/x")],
        compat: None },
    // the http route's filter on /-http/x
    Case { id: "M30-http", syntax: V, rules: MODPROXY_HTTP,
        input: &[("SCRIPT_NAME", "/-http"), ("PATH_INFO", "/x"), ("REQUEST_URI", "/-http/x"),
                 ("RESOLVED", "host1.domain:80:/-http/x")],
        strict: &[("SCRIPT_NAME", ""), ("PATH_INFO", "/x"), ("REQUEST_URI", "/x"),
                  ("wsgi.url_scheme", "http"), ("uri", "/x")],
        compat: None },
    // M31 (swapped routes): the http filter must not eat into /-https/x (S3); WFront did
    Case { id: "M31", syntax: V, rules: MODPROXY_HTTP,
        input: &[("PATH_INFO", "/-https/x"), ("REQUEST_URI", "/-https/x")],
        strict: &[("SCRIPT_NAME", ""), ("PATH_INFO", "/-https/x"), ("REQUEST_URI", "/-https/x"),
                  ("uri", "/-https/x")],
        compat: Some(&[("SCRIPT_NAME", ""), ("PATH_INFO", "s/x"), ("REQUEST_URI", "/s/x"),
                       ("uri", "/s/x")]) },
];

async fn check(case: &Case) {
    for mode in [Mode::Strict, Mode::Wfront04] {
        let rules = Rules::builder()
            .mode(mode)
            .pairs(case.syntax, case.rules.iter().copied())
            .build()
            .unwrap_or_else(|e| panic!("{}: {e}", case.id));
        let want = match (mode, case.compat) {
            (Mode::Wfront04, Some(compat)) => compat,
            _ => case.strict,
        };
        let want = env(want);
        let seen = run(&rules, request(case.input)).await;
        let mut got = seen.env;
        if want.contains_key("uri") {
            got.insert("uri".to_owned(), seen.uri);
        }
        assert_eq!(got, want, "{} in {mode:?}", case.id);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn f_vectors_and_pound_recipes() {
    for case in CASES {
        check(case).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn apache_mod_proxy_recipe() {
    for case in MODPROXY_CASES {
        check(case).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn f1_copy_twice_is_idempotent() {
    let rules = Rules::from_pairs(V, [("wfront.copy.A", Some("B"))]).unwrap();
    let once = run(&rules, request(&[("A", "hi")])).await;
    let twice = run(&rules, request(&[("A", "hi"), ("B", "hi")])).await;
    assert_eq!(once, twice);
}

#[test]
fn f6_f7_compiled_regex_equals_string() {
    let a = Target::var("A");
    let from_str = Rules::builder().sub(a.clone(), "[Qq]uux").build().unwrap();
    let compiled = Rules::builder()
        .sub_regex(a, Regex::new("[Qq]uux").unwrap())
        .build()
        .unwrap();
    assert_eq!(from_str, compiled);
}

#[test]
fn f30_no_target_is_an_error_in_strict_and_ignored_in_compat() {
    let err = Rules::from_pairs(V, [("wfront.copy", Some("B"))]).unwrap_err();
    assert_eq!(err.rule(), "wfront.copy");
    assert_eq!(err.kind(), &CleanupErrorKind::MissingTarget);
    let compat = Rules::builder()
        .wfront04_compat()
        .pairs(V, [("wfront.copy", Some("B"))])
        .build()
        .unwrap();
    assert!(compat.is_empty());
}

#[test]
fn f31_unknown_directives_fail_at_build_in_both_modes() {
    for mode in [Mode::Strict, Mode::Wfront04] {
        for (key, directive) in [
            ("wfront.bogus", "bogus"),
            ("wfront.strip_path.X", "strip_path"),
        ] {
            let err = Rules::builder()
                .mode(mode)
                .pairs(V, [(key, Some("1"))])
                .build()
                .unwrap_err();
            assert_eq!(err.rule(), key);
            assert_eq!(
                err.kind(),
                &CleanupErrorKind::UnknownDirective(directive.to_owned())
            );
        }
    }
}

#[test]
fn f34_expand_shorthand() {
    let got = expand([
        ("A", Some("1")),
        ("-B", Some("2")),
        ("~C", Some("3")),
        ("~D", Some("4")),
        ("%E", Some("5")),
        ("=F", Some("6")),
        ("||=G", Some("7")),
        ("H", None),
        ("-/", Some("9")),
    ]);
    let want: Vec<(String, Option<String>)> = [
        ("A", Some("1")),
        ("wfront.subtract.B", Some("2")),
        ("wfront.sub.C", Some("3")),
        ("wfront.sub.D", Some("4")),
        ("wfront.sprintf.E", Some("5")),
        ("wfront.copy.F", Some("6")),
        ("wfront.setdefault.G", Some("7")),
        ("wfront.remove.H", None),
        ("wfront.strip_path", Some("9")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.map(str::to_owned)))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn f35_expand_edge_cases_and_how_they_build() {
    let input = [
        ("%E", None),
        ("-/", None),
        (">host", None),
        ("||=G", None),
        ("-", Some("y")),
        ("~", Some("z")),
    ];
    let keys: Vec<String> = expand(input).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "wfront.remove.%E",
            "wfront.strip_path",
            "wfront.reset_host",
            "wfront.remove.||=G",
            "wfront.subtract.",
            "wfront.sub.",
        ]
    );
    // building: removing the variable `%E` is fine; strip_path needs a value; an
    // empty target is invalid. Errors name the key as the user wrote it.
    assert!(Rules::from_pairs(S, [("%E", None::<&str>)]).is_ok());
    let err = Rules::from_pairs(S, [("-/", None::<&str>)]).unwrap_err();
    assert_eq!(
        (err.rule(), err.kind()),
        ("-/", &CleanupErrorKind::MissingValue)
    );
    let err = Rules::from_pairs(S, [("-", Some("y"))]).unwrap_err();
    assert_eq!(err.rule(), "-");
    assert!(matches!(err.kind(), CleanupErrorKind::InvalidTarget(_)));
    let err = Rules::from_pairs(S, [("", Some("y"))]).unwrap_err();
    assert!(matches!(err.kind(), CleanupErrorKind::InvalidTarget(_)));
}

#[test]
fn f36_empty_rule_set_is_nothing() {
    let rules = Rules::from_pairs(V, Vec::<(&str, Option<&str>)>::new()).unwrap();
    assert!(rules.is_empty());
    assert_eq!(rules, Rules::default());
}

#[test]
fn build_errors_name_the_rule() {
    let table: &[(Syntax, &str, &str)] = &[
        (V, "wfront.sub.A: (unclosed", "wfront.sub.A"),
        (S, "~A: [", "~A"),
        (V, "wfront.sprintf.A: 100%", "wfront.sprintf.A"),
        (S, "%A: %s and %s", "%A"),
        (V, "wfront.setdefault.A: %(B", "wfront.setdefault.A"),
        (V, "HTTP_X_A: \"a\u{0}b\"", "HTTP_X_A"),
        (V, "HTTPS: maybe", "HTTPS"),
        (V, "wfront.remove.HTTPS: None", "wfront.remove.HTTPS"),
        (V, "PATH_INFO: no-slash", "PATH_INFO"),
        (V, "HTTP_BAD KEY: 1", "HTTP_BAD KEY"),
        (V, "wfront.copy.A: None", "wfront.copy.A"),
        (V, "A: None", "A"),
        (V, "no colon here", "line 1"),
        (V, "# comment\n: value", "line 2"),
    ];
    for (syntax, text, rule) in table {
        let err = Rules::parse(*syntax, text).unwrap_err();
        assert_eq!(err.rule(), *rule, "{text:?}: {err}");
        assert!(err.to_string().contains(&format!("{rule:?}")), "{err}");
    }
}

#[test]
fn debug_lists_rules_in_evaluation_order() {
    let rules = Rules::parse(
        S,
        ">host: 1\nHTTP_X_A: v\nmode: None\n||=B: d\n%C: [%s]\n~D: x+\n-/: /app\n=E: F",
    )
    .unwrap();
    let dbg = format!("{rules:?}");
    assert_eq!(
        dbg,
        r#"Rules { mode: Strict, rules: [copy var:E -> var:F, strip_prefix original_uri "/app", strip_prefix path_info "/app", strip_prefix script_name "/app", sub var:D /x+/, template var:C "[%s]", set_default var:B "d", remove var:mode, set header:x-a "v", reset_host] }"#
    );
    let compat = Rules::builder()
        .wfront04_compat()
        .text(S, "-/: /app")
        .build()
        .unwrap();
    assert!(format!("{compat:?}").contains(r#"remove_first_substring path_info "/app""#));
}
