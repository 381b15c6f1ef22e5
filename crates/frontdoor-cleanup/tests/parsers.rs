//! Property tests: the text parsers never panic, and the shortcut syntax expands to
//! the verbose one for generated rule sets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use frontdoor_cleanup::{expand, parse_lines, Mode, Rules, Syntax};
use proptest::prelude::*;

/// CGI keys that hit every target kind, plus arbitrary variable-like names.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "A",
            "B",
            "mode",
            "HTTP_HOST",
            "HTTP_X_FOO",
            "SCRIPT_NAME",
            "PATH_INFO",
            "REQUEST_URI",
            "HTTPS",
            "wsgi.url_scheme",
        ])
        .prop_map(str::to_owned),
        "[A-Za-z][A-Za-z0-9_.]{0,8}",
    ]
}

/// Values: templates, regexes, paths, with the characters that matter.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z/%()s_ .+*\\[\\]]{0,12}",
        prop::sample::select(vec![
            "/pony",
            "%s_x",
            "%(B)s",
            "on",
            "https",
            "[Qq]uux",
            "HTTP_X_BAR"
        ])
        .prop_map(str::to_owned),
    ]
}

/// One generated rule as (shortcut pair, verbose pair).
type Pair = (String, Option<String>);

fn rule() -> impl Strategy<Value = (Pair, Pair)> {
    (0..9u8, key(), value()).prop_map(|(op, k, v)| {
        let both = |s: String, verb: String, v: Option<String>| ((s, v.clone()), (verb, v));
        match op {
            0 => both(format!("={k}"), format!("wfront.copy.{k}"), Some(v)),
            1 => both(format!("-{k}"), format!("wfront.subtract.{k}"), Some(v)),
            2 => both(format!("~{k}"), format!("wfront.sub.{k}"), Some(v)),
            3 => both(format!("%{k}"), format!("wfront.sprintf.{k}"), Some(v)),
            4 => both(format!("||={k}"), format!("wfront.setdefault.{k}"), Some(v)),
            5 => both(k.clone(), format!("wfront.remove.{k}"), None),
            6 => both(k.clone(), k, Some(v)),
            7 => both("-/".to_owned(), "wfront.strip_path".to_owned(), Some(v)),
            _ => both(">host".to_owned(), "wfront.reset_host".to_owned(), Some(v)),
        }
    })
}

fn build(mode: Mode, syntax: Syntax, pairs: &[Pair]) -> Result<Rules, String> {
    Rules::builder()
        .mode(mode)
        .pairs(syntax, pairs.iter().map(|(k, v)| (k, v.as_ref())))
        .build()
        .map_err(|e| e.kind().to_string())
}

proptest! {
    #[test]
    fn expand_shortcut_equals_verbose(rules in prop::collection::vec(rule(), 0..8)) {
        let (shortcut, verbose): (Vec<Pair>, Vec<Pair>) = rules.into_iter().unzip();
        prop_assert_eq!(expand(shortcut.clone()), verbose.as_slice());
        for mode in [Mode::Strict, Mode::Wfront04] {
            prop_assert_eq!(
                build(mode, Syntax::Shortcut, &shortcut),
                build(mode, Syntax::Verbose, &verbose)
            );
        }
    }

    #[test]
    fn pair_parsers_never_panic(
        pairs in prop::collection::vec((".{0,16}", prop::option::of(".{0,16}")), 0..6)
    ) {
        for syntax in [Syntax::Verbose, Syntax::Shortcut] {
            for mode in [Mode::Strict, Mode::Wfront04] {
                let _ = build(mode, syntax, &pairs);
            }
        }
        let _ = expand(pairs);
    }

    #[test]
    fn text_parsers_never_panic(text in "(([-~%=|>/]{0,3}[A-Za-z_.]{0,8}:? ?[^\n]{0,12})\n){0,6}") {
        let _ = parse_lines(&text);
        for syntax in [Syntax::Verbose, Syntax::Shortcut] {
            let _ = Rules::parse(syntax, &text);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        for syntax in [Syntax::Verbose, Syntax::Shortcut] {
            let _ = Rules::parse(syntax, &text);
        }
    }
}
