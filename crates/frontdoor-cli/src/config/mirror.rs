//! `mirror = { upstream, sample, methods, max_in_flight, timeout, compare, host,
//! strip_headers }` of a target, checked into [`MirrorSettings`] at load, every error
//! naming its key. The shadow is the upstream client (`frontdoor::mirror_via`); the
//! [`MirrorLayer`] is built from the settings once per loaded config, by the shared
//! state ([`MirrorSettings::layer`]).

use std::time::Duration;

use frontdoor_mirror::{Comparator, HostMark, MirrorLayer};
use frontdoor_upstream::{Forwarding, Upstream, UpstreamConfigError};
use http::{HeaderName, Method};
use toml::Spanned;

use super::{error::Errors, raw::RawMirror};

/// A target's validated `mirror = { .. }`: data only, compared whole when a reload
/// decides whether the target's mirror layer (its shadow pool, in-flight bound and
/// counters) is kept.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MirrorSettings {
    /// `upstream`: the shadow's URL.
    pub upstream: String,
    /// `sample`: the fraction of eligible requests mirrored (`None`: all).
    pub sample: Option<f64>,
    /// `methods`: the methods mirrored (`None`: the layer's default).
    pub methods: Option<Vec<Method>>,
    /// `compare`: how shadow responses are compared (`None`: the layer's default).
    pub compare: Option<Vec<Comparator>>,
    /// `host`: how the shadow's `Host` is marked (`None`: the layer's default).
    pub host: Option<HostMark>,
    /// `strip_headers`: names stripped besides the ones always stripped.
    pub strip_headers: Option<Vec<HeaderName>>,
    /// `max_in_flight`: the most shadow requests at once (`None`: the default).
    pub max_in_flight: Option<usize>,
    /// `timeout`: the shadow's one deadline (`None`: the default).
    pub timeout: Option<Duration>,
}

impl MirrorSettings {
    /// The mirror layer these settings describe, its shadow writing `forwarding`
    /// (`[server]`'s) like the route's upstream: a new shadow pool, in-flight bound
    /// and counters.
    ///
    /// # Errors
    ///
    /// The key under `mirror` (`upstream` or `sample`) and the message, when the
    /// shadow cannot be built (settings that passed validation always build).
    pub fn layer(&self, forwarding: &Forwarding) -> Result<MirrorLayer, (&'static str, String)> {
        let mut layer = base(&self.upstream, self.sample, forwarding)?;
        if let Some(m) = &self.methods {
            layer = layer.methods(m.iter().cloned());
        }
        if let Some(c) = &self.compare {
            layer = layer.compare(c.iter().cloned());
        }
        if let Some(h) = &self.host {
            layer = layer.host(h.clone());
        }
        if let Some(names) = &self.strip_headers {
            layer = layer.strip_headers(names.iter().cloned());
        }
        if let Some(n) = self.max_in_flight {
            layer = layer.max_in_flight(n);
        }
        if let Some(t) = self.timeout {
            layer = layer.timeout(t);
        }
        Ok(layer)
    }
}

/// The settings of the target at `path` (`route[N]` or `default`), or `None` with the
/// errors recorded; `forwarding` is `[server]`'s (the shadow is built once here, to
/// check its URL, and dropped).
pub(super) fn mirror(
    path: &str,
    raw: Spanned<RawMirror>,
    forwarding: &Forwarding,
    errors: &mut Errors<'_>,
) -> Option<MirrorSettings> {
    let before = errors.count();
    let raw = raw.into_inner();
    let key = |k: &str| format!("{path}.mirror.{k}");
    let url = raw.upstream.get_ref();
    let sample = raw.sample.as_ref().map(|s| *s.get_ref());
    if let Err((k, message)) = base(url, sample, forwarding) {
        let span = match (k, &raw.sample) {
            ("sample", Some(s)) => s.span(),
            _ => raw.upstream.span(),
        };
        errors.push(Some(&span), key(k), message);
    }
    let settings = check(&raw, &key, errors);
    (errors.count() == before).then(|| MirrorSettings {
        upstream: url.clone(),
        sample,
        ..settings
    })
}

/// The mirror layer over the shadow at `url`, with its `sample`: the two settings
/// the mirror itself checks.
fn base(
    url: &str,
    sample: Option<f64>,
    forwarding: &Forwarding,
) -> Result<MirrorLayer, (&'static str, String)> {
    let layer = shadow(url, forwarding)
        .map(|up| frontdoor::mirror_via(up).shadow_label(url))
        .map_err(|e| ("upstream", e.message().to_owned()))?;
    match sample {
        Some(s) => layer.sample(s).map_err(|e| ("sample", e.to_string())),
        None => Ok(layer),
    }
}

/// The shadow at `url`: the upstream client as the mirror needs it (its `Host` mark
/// sent, no upgrades), writing `[server]`'s forwarding headers like the route's
/// upstream; `https://` with TLS and the webpki roots (the `tls` feature). The
/// mirror's `timeout` is its one deadline (connect, response head and captured
/// body), so the upstream's own timeouts are off.
fn shadow(url: &str, forwarding: &Forwarding) -> Result<Upstream, UpstreamConfigError> {
    frontdoor::shadow_upstream(url)
        .forwarding(forwarding.clone())
        .connect_timeout(None)
        .head_timeout(None)
        .body_idle_timeout(None)
        .build()
}

/// The optional settings, each checked (an error recorded for each bad one); the
/// shadow's `upstream` and `sample` are left for the caller.
fn check(
    raw: &RawMirror,
    key: &impl Fn(&str) -> String,
    errors: &mut Errors<'_>,
) -> MirrorSettings {
    let methods = raw.methods.as_ref().map(|m| {
        parse_each(m, errors, &key("methods"), |t| {
            Method::from_bytes(t.as_bytes()).map_err(|e| e.to_string())
        })
    });
    let compare = raw.compare.as_ref().map(|c| {
        parse_each(c, errors, &key("compare"), |t| {
            t.parse::<Comparator>().map_err(|e| e.to_string())
        })
    });
    let host = raw.host.as_ref().and_then(|h| {
        h.get_ref()
            .parse::<HostMark>()
            .map_err(|e| errors.push(Some(&h.span()), key("host"), e.to_string()))
            .ok()
    });
    let strip_headers = raw.strip_headers.as_ref().map(|names| {
        parse_each(names, errors, &key("strip_headers"), |t| {
            HeaderName::from_bytes(t.as_bytes()).map_err(|_| format!("not a header name: {t:?}"))
        })
    });
    let max_in_flight = raw.max_in_flight.as_ref().and_then(|n| {
        let count = usize::try_from(*n.get_ref()).ok().filter(|n| *n > 0);
        if count.is_none() {
            errors.push(
                Some(&n.span()),
                key("max_in_flight"),
                "must be a positive count",
            );
        }
        count
    });
    let timeout = raw
        .timeout
        .as_ref()
        .and_then(|t| timeout(t, &key("timeout"), errors));
    MirrorSettings {
        upstream: String::new(),
        sample: None,
        methods,
        compare,
        host,
        strip_headers,
        max_in_flight,
        timeout,
    }
}

/// Parses every string of a list, recording each failure at the list's line.
fn parse_each<T>(
    list: &Spanned<Vec<String>>,
    errors: &mut Errors<'_>,
    key: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Vec<T> {
    list.get_ref()
        .iter()
        .enumerate()
        .filter_map(|(i, text)| {
            parse(text)
                .map_err(|e| errors.push(Some(&list.span()), format!("{key}[{i}]"), e))
                .ok()
        })
        .collect()
}

/// A positive duration of at most 7 days (the config's one duration rule).
fn timeout(value: &Spanned<String>, key: &str, errors: &mut Errors<'_>) -> Option<Duration> {
    super::server::duration(key, Some(value.clone()), errors)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    /// The mirror layer of the first route, as the shared state builds it.
    fn layer(config: &Config) -> frontdoor_mirror::MirrorLayer {
        let forwarding = config.server.forwarding().unwrap();
        let settings = config.routes[0].target.mirror.as_ref().unwrap();
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
}
