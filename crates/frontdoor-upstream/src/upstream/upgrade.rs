//! Protocol upgrades (`Connection: upgrade`, WebSocket and the other protocols an
//! upstream allows): which tokens of a client's `Upgrade` are forwarded, and the
//! splice of both upgraded connections after a matching `101`.

use http::{header, HeaderMap, HeaderValue};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tracing::debug;

use crate::{hop_by_hop::tokens, UpstreamConfigError};

// === UpgradeProtocols ===

/// The `Upgrade` protocols an [`Upstream`](crate::Upstream) proxies (RFC 9110 §7.8):
/// an allow-list of tokens, `websocket` by default.
///
/// Each entry is an HTTP token naming a protocol, optionally with a version
/// (`foo/1`). A client's token is allowed when an entry without a version names its
/// protocol (`foo` allows `foo`, `FOO` and `foo/2`), or when an entry with a version
/// is the whole token (`foo/1` allows `foo/1` only); comparisons ignore ASCII case.
/// A client token that is not `token ["/" token]` is never allowed.
///
/// `h2c` (with or without a version) cannot be listed: RFC 9113 deprecates the
/// HTTP/1.1 upgrade to HTTP/2, and a tunnel to an h2c upstream would let the client
/// send any request (any `:path`, outside the route's base path) straight to the
/// upstream. Clients may still speak h2c to the front door with prior knowledge, and
/// [`http2_only`](crate::UpstreamBuilder::http2_only) speaks it to the upstream.
///
/// ```
/// use frontdoor_upstream::UpgradeProtocols;
///
/// let default = UpgradeProtocols::default();
/// assert!(default.allows("WebSocket"));
/// assert!(!default.allows("h2c"));
/// let foo = UpgradeProtocols::try_new(["websocket", "foo"])?;
/// assert!(foo.allows("foo/1") && foo.allows("FOO"));
/// let foo1 = UpgradeProtocols::try_new(["foo/1"])?;
/// assert!(foo1.allows("foo/1") && !foo1.allows("foo/2") && !foo1.allows("foo"));
/// assert!(UpgradeProtocols::none().is_empty());
///
/// let err = UpgradeProtocols::try_new(["websocket", "H2C"]).unwrap_err();
/// assert_eq!(err.key(), "upgrades");
/// assert!(UpgradeProtocols::try_new(["web socket"]).is_err());
/// # Ok::<(), frontdoor_upstream::UpstreamConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpgradeProtocols {
    /// The entries, lowercase: `name` or `name/version`.
    allowed: Box<[Box<str>]>,
}

impl Default for UpgradeProtocols {
    /// `websocket` alone.
    fn default() -> Self {
        Self::websocket()
    }
}

impl UpgradeProtocols {
    /// `websocket` alone (the default).
    #[must_use]
    pub fn websocket() -> Self {
        Self {
            allowed: Box::new(["websocket".into()]),
        }
    }

    /// No protocol: every `Upgrade` is stripped and the request forwarded as a plain
    /// one.
    #[must_use]
    pub fn none() -> Self {
        Self {
            allowed: Box::new([]),
        }
    }

    /// An allow-list of `protocols` (see the [type docs](Self)).
    ///
    /// # Errors
    ///
    /// [`UpstreamConfigError`] (key `upgrades`) naming the first entry that is not
    /// `token ["/" token]`, or that names `h2c`.
    pub fn try_new<I>(protocols: I) -> Result<Self, UpstreamConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let allowed = protocols
            .into_iter()
            .map(|p| {
                let p = p.as_ref();
                let (name, _) = split(p.as_bytes()).ok_or_else(|| {
                    UpstreamConfigError::new(
                        "upgrades",
                        format!(
                            "`{p}` is not an upgrade protocol: a token, optionally with `/version`"
                        ),
                    )
                })?;
                if name.eq_ignore_ascii_case(b"h2c") {
                    return Err(UpstreamConfigError::new(
                        "upgrades",
                        format!(
                            "`{p}` cannot be proxied: the h2c upgrade is deprecated (RFC 9113) \
                             and would let clients reach any path of the upstream"
                        ),
                    ));
                }
                Ok(p.to_ascii_lowercase().into_boxed_str())
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { allowed })
    }

    /// Whether no protocol is allowed (upgrades are off).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.allowed.is_empty()
    }

    /// The entries, lowercase, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.allowed.iter().map(|p| &**p)
    }

    /// Whether a client's `Upgrade` token is allowed.
    #[must_use]
    pub fn allows(&self, token: &str) -> bool {
        self.allows_bytes(token.as_bytes())
    }

    fn allows_bytes(&self, token: &[u8]) -> bool {
        let Some((name, _)) = split(token) else {
            return false;
        };
        self.allowed.iter().any(|entry| {
            let entry = entry.as_bytes();
            if entry.contains(&b'/') {
                entry.eq_ignore_ascii_case(token)
            } else {
                entry.eq_ignore_ascii_case(name)
            }
        })
    }

    /// The allowed tokens of the client's `Upgrade` lines, in its order, as one value
    /// (the client's own value when every token of its one line is allowed); `None`
    /// when none is.
    pub(crate) fn offered(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let mut lines = headers.get_all(header::UPGRADE).iter();
        if let (Some(only), None) = (lines.next(), lines.next()) {
            let mut any = false;
            let all = tokens(only).all(|t| {
                any = true;
                self.allows_bytes(t)
            });
            if any && all {
                return Some(only.clone());
            }
        }
        let kept: Vec<&[u8]> = headers
            .get_all(header::UPGRADE)
            .iter()
            .flat_map(tokens)
            .filter(|t| self.allows_bytes(t))
            .collect();
        if kept.is_empty() {
            return None;
        }
        // Tokens are tchars and `/`: always a valid value.
        HeaderValue::from_bytes(&kept.join(&b", "[..])).ok()
    }
}

/// `token ["/" token]` split into its protocol name and version.
fn split(token: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let (name, version) = match token.iter().position(|&b| b == b'/') {
        Some(i) => (&token[..i], Some(&token[i + 1..])),
        None => (token, None),
    };
    let is_token = |t: &[u8]| !t.is_empty() && t.iter().all(|&b| is_tchar(b));
    (is_token(name) && version.is_none_or(is_token)).then_some((name, version))
}

/// RFC 9110 §5.6.2 `tchar`.
const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

// === the splice ===

/// The downstream half of an upgrade in flight, and what it asked for.
pub(crate) struct UpgradeRequest {
    pub(crate) downstream: OnUpgrade,
    pub(crate) kind: UpgradeKind,
}

/// What a client asked to switch to.
pub(crate) enum UpgradeKind {
    /// `Connection: upgrade` with these (allowed) `Upgrade` protocols: spliced after a
    /// `101` naming one of them.
    Protocols(HeaderValue),
    /// A `CONNECT` tunnel (on upstreams that forward `CONNECT`): spliced after a 2xx.
    Tunnel,
}

/// Whether the `101`'s `Upgrade` names one of the requested protocols (RFC 9110 §7.8).
pub(crate) fn matches(requested: &HeaderValue, response: &HeaderMap) -> bool {
    let Some(chosen) = response.get(header::UPGRADE) else {
        return false;
    };
    let mut chosen = tokens(chosen);
    let (Some(chosen), None) = (chosen.next(), chosen.next()) else {
        return false;
    };
    tokens(requested).any(|t| t.eq_ignore_ascii_case(chosen))
}

/// Waits for both sides to finish their upgrade, then copies bytes both ways until
/// each side has closed its write half (each EOF is propagated as a shutdown).
/// Never panics: failures are logged and end the task.
pub(crate) async fn splice(downstream: OnUpgrade, upstream: OnUpgrade) {
    let upstream = match upstream.await {
        Ok(u) => u,
        Err(e) => {
            debug!(error = %e, "upstream upgrade failed");
            return;
        }
    };
    let downstream = match downstream.await {
        Ok(d) => d,
        Err(e) => {
            debug!(error = %e, "downstream upgrade failed");
            return;
        }
    };
    let mut up = TokioIo::new(upstream);
    let mut down = TokioIo::new(downstream);
    match tokio::io::copy_bidirectional(&mut down, &mut up).await {
        Ok((to_up, to_down)) => debug!(to_up, to_down, "upgraded connection closed"),
        Err(e) => debug!(error = %e, "upgraded connection failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(allowed: &[&str], lines: &[&'static str]) -> Option<String> {
        let protocols = UpgradeProtocols::try_new(allowed).unwrap();
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(header::UPGRADE, HeaderValue::from_static(line));
        }
        protocols
            .offered(&headers)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn only_allowed_tokens_are_offered() {
        let table: &[(&[&str], &[&str], Option<&str>)] = &[
            (&["websocket"], &["websocket"], Some("websocket")),
            (&["websocket"], &["WebSocket"], Some("WebSocket")),
            (&["websocket"], &["h2c"], None),
            (&["websocket"], &["foo/1"], None),
            (&["websocket"], &[], None),
            (&["websocket"], &[" , "], None),
            (
                &["websocket"],
                &["h2c, websocket, foo/2"],
                Some("websocket"),
            ),
            (&["websocket"], &["h2c", "websocket"], Some("websocket")),
            (
                &["websocket", "foo"],
                &["foo/2, h2c, websocket"],
                Some("foo/2, websocket"),
            ),
            (&["foo/1"], &["foo/2, foo/1, foo"], Some("foo/1")),
            (&["foo"], &["foo/", "/1", "foo bar", "foo/1/2"], None),
            (&[], &["websocket"], None),
        ];
        for (allowed, lines, want) in table {
            assert_eq!(
                offered(allowed, lines).as_deref(),
                *want,
                "{allowed:?} {lines:?}"
            );
        }
    }

    #[test]
    fn h2c_and_non_tokens_are_refused_naming_the_key() {
        for bad in [
            "h2c",
            "H2C",
            "h2c/1",
            "",
            "web socket",
            "foo/",
            "/1",
            "a/b/c",
            "é",
        ] {
            let err = UpgradeProtocols::try_new(["websocket", bad]).unwrap_err();
            assert_eq!(err.key(), "upgrades", "{bad:?}");
            assert!(err.message().starts_with(&format!("`{bad}`")), "{err}");
        }
        let ok = UpgradeProtocols::try_new(["WebSocket", "foo/1", "TLS/1.0"]).unwrap();
        assert_eq!(
            ok.iter().collect::<Vec<_>>(),
            ["websocket", "foo/1", "tls/1.0"]
        );
        assert_eq!(UpgradeProtocols::default(), UpgradeProtocols::websocket());
        assert!(!UpgradeProtocols::default().is_empty());
        assert!(UpgradeProtocols::try_new::<[&str; 0]>([])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_101_must_name_a_requested_protocol() {
        let requested = HeaderValue::from_static("websocket, foo/1");
        let answer = |upgrade: Option<&'static str>| {
            let mut h = HeaderMap::new();
            if let Some(u) = upgrade {
                h.insert(header::UPGRADE, HeaderValue::from_static(u));
            }
            matches(&requested, &h)
        };
        assert!(answer(Some("WebSocket")));
        assert!(answer(Some("foo/1")));
        assert!(!answer(Some("h2c")));
        assert!(!answer(Some("foo/2")));
        assert!(!answer(Some("websocket, foo/1")));
        assert!(!answer(None));
    }
}
