//! `mirror = { .. }` of a target, as the config reads it.

use crate::config::Config;

/// The mirror layer of the first route, as the shared state builds it.
fn layer(config: &Config) -> frontdoor_mirror::MirrorLayer {
    let forwarding = config.plan.settings.forwarding().unwrap();
    let settings = config.plan.routes[0].target.mirror.as_ref().unwrap();
    settings.layer(&forwarding).unwrap()
}

const ROUTE: &str = "[[route]]\nspec = \"::/a\"\nupstream = \"http://127.0.0.1:1\"\n";

/// A mirror without `sample` mirrors every eligible request (the layer's default),
/// rather than being dropped.
#[test]
fn sample_is_optional() {
    let src = format!("{ROUTE}mirror = {{ upstream = \"http://127.0.0.1:2\" }}\n");
    let config: Config = src.parse().unwrap();
    let mirror = layer(&config);
    assert_eq!(
        mirror.to_string(),
        "mirror http://127.0.0.1:2 sample=1 methods=GET,HEAD max_in_flight=64 timeout=5s \
         compare=status"
    );
}

/// `strip_headers` adds names to the seven always stripped; the route table shows
/// them.
#[test]
fn strip_headers_are_added() {
    let src = format!(
        "{ROUTE}mirror = {{ upstream = \"http://127.0.0.1:2\", strip_headers = [\"X-Foo\", \"x-bar\"] }}\n"
    );
    let config: Config = src.parse().unwrap();
    let mirror = layer(&config);
    assert_eq!(
        mirror.to_string(),
        "mirror http://127.0.0.1:2 sample=1 methods=GET,HEAD max_in_flight=64 timeout=5s \
         compare=status strip_headers=x-foo,x-bar"
    );
}

/// The shadow URL is checked by the upstream client, naming the mirror's key.
#[test]
fn bad_shadow_urls_name_the_key() {
    for (url, want) in [
        ("ftp://h", "scheme `ftp` is not supported"),
        ("http://h/?q=1", "`http://h/?q=1` must not have a query"),
        ("http://u@h/", "`http://u@h/` must not contain userinfo"),
    ] {
        let src = format!("{ROUTE}mirror = {{ upstream = \"{url}\" }}\n");
        let errors: Vec<String> = src
            .parse::<Config>()
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let prefix = format!("line 4: route[0].mirror.upstream: {want}");
        assert!(errors[0].starts_with(&prefix), "{errors:?}");
    }
}

/// An `https://` shadow is an upstream over TLS (webpki roots).
#[cfg(feature = "tls")]
#[test]
fn https_shadows_are_accepted() {
    let src = format!("{ROUTE}mirror = {{ upstream = \"https://shadow.example:8443/v2\" }}\n");
    let config: Config = src.parse().unwrap();
    let mirror = layer(&config);
    assert!(
        mirror
            .to_string()
            .starts_with("mirror https://shadow.example:8443/v2 sample=1 "),
        "{mirror}"
    );
}

/// Each invalid name is an error naming its index.
#[test]
fn invalid_strip_headers_name_their_index() {
    let src = format!(
        "{ROUTE}mirror = {{ upstream = \"http://127.0.0.1:2\", strip_headers = [\"X-Foo\", \"X Bar\", \"\"] }}\n"
    );
    let errors: Vec<String> = src
        .parse::<Config>()
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "line 4: route[0].mirror.strip_headers[1]: not a header name: \"X Bar\"",
            "line 4: route[0].mirror.strip_headers[2]: not a header name: \"\"",
        ]
    );
}
