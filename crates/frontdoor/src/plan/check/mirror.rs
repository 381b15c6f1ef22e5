//! `mirror = { upstream, sample, methods, max_in_flight, timeout, compare, host,
//! strip_headers }` of a target, checked into [`MirrorSettings`], every error naming
//! its key. The shadow is the upstream client (`crate::mirror_via`): one HTTP client
//! for routes and shadows. The [`MirrorLayer`] is built from the settings once per
//! plan, by its shared state ([`MirrorSettings::layer`]).

use super::values;
use crate::plan::{checked::MirrorSettings, description::Mirror, error::Errors};
use frontdoor_mirror::{Comparator, HostMark, MirrorLayer};
use frontdoor_upstream::{Forwarding, Upstream, UpstreamConfigError};
use http::{HeaderName, Method};

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
    raw: &Mirror,
    forwarding: &Forwarding,
    errors: &mut Errors,
) -> Option<MirrorSettings> {
    let before = errors.count();
    let key = |k: &str| format!("{path}.mirror.{k}");
    let url = &raw.upstream;
    let sample = raw.sample;
    if let Err((k, message)) = base(url, sample, forwarding) {
        errors.push(key(k), message);
    }
    let settings = check(raw, &key, errors);
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
        .map(|up| crate::mirror_via(up).shadow_label(url))
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
    crate::shadow_upstream(url)
        .forwarding(forwarding.clone())
        .connect_timeout(None)
        .head_timeout(None)
        .body_idle_timeout(None)
        .build()
}

/// The optional settings, each checked (an error recorded for each bad one); the
/// shadow's `upstream` and `sample` are left for the caller.
fn check(raw: &Mirror, key: &impl Fn(&str) -> String, errors: &mut Errors) -> MirrorSettings {
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
        h.parse::<HostMark>()
            .map_err(|e| errors.push(key("host"), e.to_string()))
            .ok()
    });
    let strip_headers = raw.strip_headers.as_ref().map(|names| {
        parse_each(names, errors, &key("strip_headers"), |t| {
            HeaderName::from_bytes(t.as_bytes()).map_err(|_| format!("not a header name: {t:?}"))
        })
    });
    let max_in_flight = raw.max_in_flight.and_then(|n| {
        let count = usize::try_from(n).ok().filter(|n| *n > 0);
        if count.is_none() {
            errors.push(key("max_in_flight"), "must be a positive count");
        }
        count
    });
    let timeout = raw
        .timeout
        .as_deref()
        .and_then(|t| errors.check(&key("timeout"), values::duration(t)));
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

/// Parses every string of a list, recording each failure at its index.
fn parse_each<T>(
    list: &[String],
    errors: &mut Errors,
    key: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Vec<T> {
    list.iter()
        .enumerate()
        .filter_map(|(i, text)| {
            parse(text)
                .map_err(|e| errors.push(format!("{key}[{i}]"), e))
                .ok()
        })
        .collect()
}
