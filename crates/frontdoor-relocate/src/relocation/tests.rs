use proptest::prelude::*;

use super::*;

fn a() -> Relocation {
    Relocation::try_new("http://localhost:8080/rfk", "http://www.rfk.id.au/").unwrap()
}

fn b() -> Relocation {
    Relocation::try_new(
        "http://www.example.com/svn",
        "http://svn.example.com/repos/morph",
    )
    .unwrap()
}

/// Spec 2.9.1, relocator A, `rewriteLocal`: the strict answers (4.5 fixes P6).
#[test]
fn vector_a_to_remote() {
    let table: &[(&str, Option<&str>)] = &[
        ("/rfk", Some("/")),
        ("/rfk/", Some("/")),       // was `//`
        ("/rfk/foo", Some("/foo")), // was `//foo`
        ("/rfkfoo", None),          // matched but not rewritten before: now neither
        ("/other", None),
        (
            "http://localhost:8080/rfk/x",
            Some("http://www.rfk.id.au/x"),
        ),
        ("http://localhost:8080/rfkx", None),
        ("localhost", None), // a relative reference, not a host
        ("/RFK/x", None),    // paths are case-sensitive
        ("", None),
        (
            "HTTP://LOCALHOST:8080/rfk/y?q#f",
            Some("http://www.rfk.id.au/y?q#f"),
        ),
        ("http://localhost/rfk/x", None), // port 80 is not 8080
    ];
    let r = a();
    for (input, want) in table {
        assert_eq!(r.to_remote(input).as_deref(), *want, "{input:?}");
    }
}

/// Spec 2.9.1, relocator A, `rewriteRemote`.
#[test]
fn vector_a_to_local() {
    let table: &[(&str, Option<&str>)] = &[
        (
            "http://www.rfk.id.au/x",
            Some("http://localhost:8080/rfk/x"),
        ),
        ("http://www.rfk.id.au", Some("http://localhost:8080/rfk")),
        ("http://www.rfk.id.au/", Some("http://localhost:8080/rfk/")),
        ("/x", Some("/rfk/x")), // was not relocated (P6)
        ("/", Some("/rfk/")),
        ("x", None),
        ("https://www.rfk.id.au/x", None),
        (
            "http://WWW.rfk.id.au/x",
            Some("http://localhost:8080/rfk/x"),
        ), // host case
        (
            "http://www.rfk.id.au:80/x",
            Some("http://localhost:8080/rfk/x"),
        ), // default port
        ("http://www.rfk.id.aux/y", None),
        ("www.rfk.id.au", None),
    ];
    let r = a();
    for (input, want) in table {
        assert_eq!(r.to_local(input).as_deref(), *want, "{input:?}");
    }
}

/// Spec 2.9.1, relocator B (the SVN one).
#[test]
fn vector_b() {
    let r = b();
    let to_remote: &[(&str, Option<&str>)] = &[
        ("/svn", Some("/repos/morph")),
        ("/svn/trunk/a.c", Some("/repos/morph/trunk/a.c")),
        ("/svnx", None), // matching and rewriting agree now
        (
            "http://www.example.com/svn/trunk",
            Some("http://svn.example.com/repos/morph/trunk"),
        ),
        ("www.example.com", None),
        ("/repos/morph/x", None),
    ];
    for (input, want) in to_remote {
        assert_eq!(r.to_remote(input).as_deref(), *want, "{input:?}");
    }
    let to_local: &[(&str, Option<&str>)] = &[
        (
            "/repos/morph/!svn/ver/5/trunk",
            Some("/svn/!svn/ver/5/trunk"),
        ),
        (
            "http://svn.example.com/repos/morph/trunk",
            Some("http://www.example.com/svn/trunk"),
        ),
        ("/repos/morph", Some("/svn")),
        ("/repos/morphx", None),
    ];
    for (input, want) in to_local {
        assert_eq!(r.to_local(input).as_deref(), *want, "{input:?}");
    }
}

/// X30: an absolute-form target moves with its authority.
#[test]
fn vector_x30_absolute_form() {
    let r = Relocation::try_new("http://localhost:8080/app", "http://backend/real").unwrap();
    assert_eq!(
        r.to_remote("http://localhost:8080/app/x").as_deref(),
        Some("http://backend/real/x")
    );
}

/// Peers 3.5: never an open redirect.
#[test]
fn open_redirects_are_left_alone() {
    let r = Relocation::try_new("http://public/dav", "http://origin/webdav").unwrap();
    let foreign = [
        "http://evil/webdav/x",
        "//evil/webdav/x",
        "//evil",
        "http://origin.evil/webdav/x",
        "http://origin@evil/webdav/x",
        "http://evil@origin/webdav/x",
        "http://origin:80@evil/webdav/x",
        "http://origin%2eevil/webdav/x",
        "https://origin/webdav/x",
        "http://origin:8080/webdav/x",
        "/webdav/../secret",
        "/webdav/%2e%2e/secret",
        "/webdavx",
        "/\\evil",
        "/webdav/\\evil",
        "http://origin/webdav/\t",
        "javascript:alert(1)",
        "mailto:x@origin",
    ];
    for url in foreign {
        assert_eq!(r.to_local(url), None, "{url:?}");
    }
    // Same host through a network-path reference is ours (scheme of the root).
    assert_eq!(
        r.to_local("//origin/webdav/x").as_deref(),
        Some("http://public/dav/x")
    );
    // Dot segments inside the root are resolved first.
    assert_eq!(r.to_local("/webdav/a/../b").as_deref(), Some("/dav/b"));
}

#[test]
fn never_makes_a_network_path_out_of_a_path() {
    // A public root mounted at `/` with a remote prefix: `/webdav//evil` would
    // become `//evil`.
    let r = Relocation::try_new("/", "http://origin/webdav").unwrap();
    assert_eq!(r.to_local("/webdav//evil.example/x"), None);
    assert_eq!(r.to_local("http://origin/webdav//evil.example/x"), None);
    assert_eq!(r.to_local("/webdav/x").as_deref(), Some("/x"));
    // With a local origin the path stays a path of that origin: harmless.
    let r = Relocation::try_new("http://public/", "http://origin/webdav").unwrap();
    assert_eq!(
        r.to_local("http://origin/webdav//evil.example/x")
            .as_deref(),
        Some("http://public//evil.example/x")
    );
}

#[test]
fn invalid_is_told_apart_from_foreign() {
    let r = a();
    for bad in [
        "/a b",
        "http://bad host/",
        "http://h:99999/",
        "http:x",
        "/\\x",
    ] {
        assert_eq!(
            r.map(Direction::ToLocal, bad, None),
            Err(Invalid),
            "{bad:?}"
        );
    }
    assert_eq!(r.map(Direction::ToLocal, "http://other/x", None), Ok(None));
}

#[test]
fn relative_references_need_a_base() {
    let r = Relocation::try_new("http://public/dav", "http://origin/webdav").unwrap();
    let base = "/webdav/dir/page?x=1";
    let table: &[(&str, Option<&str>)] = &[
        ("login", Some("/dav/dir/login")),
        ("../../other", None), // climbs out of the root
        ("?y", Some("/dav/dir/page?y")),
        ("//origin/webdav/z", Some("http://public/dav/z")),
        ("//evil/webdav/z", None),
        ("/webdav/abs", Some("/dav/abs")),
    ];
    for (input, want) in table {
        assert_eq!(r.to_local_from(base, input).as_deref(), *want, "{input:?}");
    }
    assert_eq!(r.to_local("login"), None);
}

#[test]
fn aliases_and_origin_headers() {
    let r = Relocation::try_new("http://public:8080/dav", "http://origin/webdav")
        .unwrap()
        .with_remote_alias("http://public:8080".parse().unwrap());
    assert_eq!(
        r.to_local("http://public:8080/webdav/x").as_deref(),
        Some("http://public:8080/dav/x")
    );
    // Aliases are for responses only.
    assert_eq!(r.to_remote("http://origin/dav/x"), None);
    assert_eq!(
        r.origin_to_remote("http://PUBLIC:8080").as_deref(),
        Some("http://origin")
    );
    assert_eq!(r.origin_to_remote("http://public:8080/x"), None);
    assert_eq!(r.origin_to_remote("null"), None);
    assert_eq!(r.remote_aliases().len(), 1);
    assert_eq!(
        r.to_string(),
        "http://public:8080/dav <-> http://origin/webdav"
    );
}

#[test]
fn path_only_roots() {
    let r = Relocation::try_new("/dav", "/webdav").unwrap();
    assert_eq!(r.to_remote("/dav/x").as_deref(), Some("/webdav/x"));
    // No origin on the source side: an absolute URL cannot be vouched for.
    assert_eq!(r.to_remote("http://anything/dav/x"), None);
    let r = Relocation::try_new("/dav", "http://origin/webdav").unwrap();
    // No origin on the target side: absolute URLs come out as paths.
    assert_eq!(
        r.to_local("http://origin/webdav/x").as_deref(),
        Some("/dav/x")
    );
    assert_eq!(r.to_remote("/dav/x").as_deref(), Some("/webdav/x"));
}

proptest! {
    /// Whatever goes out comes back: to_remote then to_local is the identity on
    /// everything under the local root (dot-segment-free).
    #[test]
    fn round_trips(
        local in "(/[a-z]{1,3}){0,2}",
        remote in "(/[a-z]{1,3}){0,2}",
        rest in "(/[a-z%0-9!]{0,3}){0,3}",
        query in "(\\?[a-z=&]{0,4})?",
        absolute in any::<bool>(),
    ) {
        let local_root = format!("http://public:8080{local}");
        let remote_root = format!("http://origin{remote}");
        let r = Relocation::try_new(&local_root, &remote_root).unwrap();
        let path = format!("{local}{rest}{query}");
        prop_assume!(!path.contains("//") && path.starts_with('/'));
        prop_assume!(!crate::url::has_dot_segment(&path));
        let url = if absolute { format!("http://public:8080{path}") } else { path };
        let there = r.to_remote(&url).unwrap();
        let back = r.to_local(&there).unwrap();
        let norm = |s: &str| s.replace("/?", "?").trim_end_matches('/').to_owned();
        prop_assert_eq!(norm(&back), norm(&url));
    }

    /// Nothing panics and nothing comes out starting with `//`.
    #[test]
    fn never_panics_never_network_path(url in "\\PC{0,40}") {
        let r = Relocation::try_new("/", "http://origin/webdav").unwrap();
        for out in [r.to_local(&url), r.to_remote(&url), r.to_local_from("/webdav/x", &url)].into_iter().flatten() {
            prop_assert!(!out.starts_with("//"), "{} -> {}", url, out);
        }
    }
}
