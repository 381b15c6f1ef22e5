//! The shadow side: the safety edits of the copy, the `Host` mark, the injected
//! shadow service and the capture of its answer.

use std::{fmt, panic::AssertUnwindSafe, str::FromStr, sync::Arc, time::Duration};

use bytes::{Bytes, BytesMut};
use frontdoor_core::{
    proto::{
        hop_by_hop::{self, Message},
        parse_host,
    },
    Body, BoxError,
};
use futures_util::FutureExt;
use http::{header, request::Parts, HeaderName, HeaderValue, Request, Response, Uri};
use http_body_util::BodyExt;
use tower::{util::BoxCloneSyncService, ServiceExt};

use crate::{
    compare::{BodyState, CapturedResponse},
    MirrorConfigError, MirrorId, ShadowError, ShadowErrorKind,
};

/// The credential headers stripped from every shadow copy, whatever the
/// configuration; [`MirrorLayer::strip_headers`](crate::MirrorLayer::strip_headers)
/// adds to them.
pub(crate) const CREDENTIALS: [HeaderName; 7] = [
    header::AUTHORIZATION,
    header::COOKIE,
    header::PROXY_AUTHORIZATION,
    HeaderName::from_static("x-api-key"),
    HeaderName::from_static("x-auth-token"),
    HeaderName::from_static("x-csrf-token"),
    HeaderName::from_static("x-amz-security-token"),
];

// === HostMark ===

/// What the shadow copy's `Host` says, so the shadow can tell mirrored traffic apart.
///
/// The mark is written into the copy the mirror hands to its shadow service; what
/// reaches the shadow is up to that service. A `frontdoor_upstream::Upstream` sends
/// it with `HostPolicy::Preserve` (as the facade's `frontdoor::shadow_upstream`
/// builds it, and the `frontdoor` binary), and its own authority, whatever the mark,
/// with its default `HostPolicy::UpstreamAuthority`.
///
/// Parsed from configuration text with [`FromStr`]: `suffix:-shadow`, `upstream`,
/// `keep`, or a literal `host[:port]`.
///
/// ```
/// use frontdoor_mirror::HostMark;
///
/// assert_eq!("suffix:-shadow".parse::<HostMark>()?, HostMark::default());
/// assert_eq!("shadow.internal:8080".parse::<HostMark>()?.to_string(), "shadow.internal:8080");
/// assert!("suffix:/x".parse::<HostMark>().is_err());
/// # Ok::<(), frontdoor_mirror::MirrorConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostMark {
    /// Append this to the host name, keeping the port: `www.example.com:8080` becomes
    /// `www.example.com-shadow:8080`. The default, with `-shadow`. A request without
    /// a usable host name (none, or an IPv6 literal) gets [`HostMark::Upstream`].
    Suffix(Arc<str>),
    /// This exact `Host`.
    Fixed(HeaderValue),
    /// No `Host` from the client: the copy goes without one, and the shadow service
    /// writes its own (an `Upstream`, its configured authority).
    Upstream,
    /// The client's `Host` (from an HTTP/2 client, its `:authority`), unmarked
    /// (opt-in: the shadow cannot tell copies apart).
    Keep,
}

impl Default for HostMark {
    fn default() -> Self {
        Self::Suffix(Arc::from("-shadow"))
    }
}

impl HostMark {
    /// [`HostMark::Suffix`], checked: the suffix is made of host name characters.
    ///
    /// # Errors
    ///
    /// When `suffix` is empty or holds a character a host name cannot.
    pub fn suffix(suffix: &str) -> Result<Self, MirrorConfigError> {
        let ok = !suffix.is_empty()
            && suffix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if !ok {
            return Err(MirrorConfigError::new(format!(
                "invalid host suffix {suffix:?}"
            )));
        }
        Ok(Self::Suffix(Arc::from(suffix)))
    }

    /// [`HostMark::Fixed`], checked: `host` is a valid `host[:port]`.
    ///
    /// # Errors
    ///
    /// When `host` is not a valid host.
    pub fn fixed(host: &str) -> Result<Self, MirrorConfigError> {
        match parse_host(host) {
            Ok(Some(_)) => HeaderValue::from_str(host)
                .map(Self::Fixed)
                .map_err(|e| MirrorConfigError::with_source(format!("invalid host {host:?}"), e)),
            Ok(None) => Err(MirrorConfigError::new("empty host")),
            Err(e) => Err(MirrorConfigError::with_source(
                format!("invalid host {host:?}"),
                e,
            )),
        }
    }

    /// Writes the mark into `headers` (the copy's), given the request's authority.
    fn apply(&self, parts: &mut Parts) {
        let value = match self {
            Self::Keep if parts.headers.contains_key(header::HOST) => return,
            Self::Keep => authority_host(parts),
            Self::Fixed(v) => Some(v.clone()),
            Self::Upstream => None,
            Self::Suffix(suffix) => suffixed_host(parts, suffix),
        };
        match value {
            Some(v) => parts.headers.insert(header::HOST, v),
            None => parts.headers.remove(header::HOST),
        };
    }
}

/// The request's URI authority (an HTTP/2 `:authority`, or an absolute-form
/// target's) without userinfo, as a `Host` value.
fn authority_host(parts: &Parts) -> Option<HeaderValue> {
    HeaderValue::from_str(without_userinfo(parts.uri.authority()?.as_str())).ok()
}

fn without_userinfo(authority: &str) -> &str {
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
}

/// `host + suffix [:port]` of the request's `Host` (or URI authority); `None` when it
/// has no host name to mark.
fn suffixed_host(parts: &Parts, suffix: &str) -> Option<HeaderValue> {
    let text = match parts.headers.get(header::HOST) {
        Some(v) => v.to_str().ok()?,
        None => parts.uri.authority()?.as_str(),
    };
    let text = without_userinfo(text);
    let hp = parse_host(text).ok()??;
    if hp.host.starts_with('[') {
        return None;
    }
    let marked = match hp.port {
        Some(port) => format!("{}{suffix}:{port}", hp.host),
        None => format!("{}{suffix}", hp.host),
    };
    HeaderValue::from_str(&marked).ok()
}

impl FromStr for HostMark {
    type Err = MirrorConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "keep" => Ok(Self::Keep),
            "upstream" => Ok(Self::Upstream),
            _ => match s.strip_prefix("suffix:") {
                Some(suffix) => Self::suffix(suffix),
                None => Self::fixed(s),
            },
        }
    }
}

impl fmt::Display for HostMark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Suffix(s) => write!(f, "suffix:{s}"),
            Self::Fixed(v) => f.write_str(v.to_str().unwrap_or("?")),
            Self::Upstream => f.write_str("upstream"),
            Self::Keep => f.write_str("keep"),
        }
    }
}

// === the copy ===

/// The safety settings applied to every copy.
#[derive(Clone, Debug)]
pub(crate) struct CopyRules {
    /// Stripped besides [`CREDENTIALS`].
    pub(crate) strip: Arc<[HeaderName]>,
    pub(crate) host: HostMark,
    pub(crate) id_header: Option<HeaderName>,
}

impl Default for CopyRules {
    fn default() -> Self {
        Self {
            strip: Arc::from([]),
            host: HostMark::default(),
            id_header: None,
        }
    }
}

impl CopyRules {
    /// The head of the shadow copy of `parts`: credentials, the configured headers
    /// and hop-by-hop headers removed, `Host` marked, the target in origin form, the
    /// id stamped where configured.
    pub(crate) fn copy_head(&self, parts: &Parts, id: MirrorId) -> Parts {
        let mut head = parts.clone();
        for name in CREDENTIALS.iter().chain(self.strip.iter()) {
            head.headers.remove(name);
        }
        hop_by_hop::strip(&mut head.headers, Message::Request);
        // The copy's body is complete before it is sent: nothing to wait for.
        head.headers.remove(header::EXPECT);
        self.host.apply(&mut head);
        if let Some(target) = origin_form(&head.uri) {
            head.uri = target;
        }
        if let Some(name) = &self.id_header {
            if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
                head.headers.insert(name.clone(), v);
            }
        }
        head.extensions.insert(id);
        head
    }
}

/// `uri` without its scheme and authority, when it has them and a path (an HTTP/2
/// client's, or an absolute-form target). The client's authority names the front
/// door, not the shadow: it reaches the shadow only through the `Host` mark, never
/// as a `Host` the shadow service would derive from the target.
fn origin_form(uri: &Uri) -> Option<Uri> {
    if uri.scheme().is_none() && uri.authority().is_none() {
        return None;
    }
    uri.path_and_query().map(|pq| Uri::from(pq.clone()))
}

// === Shadow ===

/// The injected shadow service, type-erased, with a label for `Display`.
#[derive(Clone)]
pub(crate) struct Shadow {
    svc: BoxCloneSyncService<Request<Body>, Response<Body>, BoxError>,
    label: Arc<str>,
}

impl Shadow {
    pub(crate) fn service<S, B>(svc: S, label: &str) -> Self
    where
        S: tower_service::Service<Request<Body>, Response = Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let svc = svc
            .map_response(|res: Response<B>| res.map(Body::new))
            .map_err(Into::into);
        Self {
            svc: BoxCloneSyncService::new(svc),
            label: Arc::from(label),
        }
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    pub(crate) fn set_label(&mut self, label: &str) {
        self.label = Arc::from(label);
    }

    /// Sends `req` and captures the answer (body up to `cap` bytes), all within
    /// `timeout`.
    pub(crate) async fn send(
        &self,
        req: Request<Body>,
        cap: usize,
        timeout: Duration,
    ) -> Result<CapturedResponse, ShadowError> {
        let svc = self.svc.clone();
        let exchange = async move {
            let res = svc.oneshot(req).await.map_err(ShadowError::classify)?;
            Ok(capture(res, cap).await)
        };
        // A panicking shadow service is a failed shadow request, nothing more.
        let exchange = AssertUnwindSafe(exchange).catch_unwind();
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(result)) => result,
            Ok(Err(_panic)) => Err(ShadowError::classify("shadow service panicked".into())),
            Err(_elapsed) => Err(ShadowError::new(ShadowErrorKind::Timeout)),
        }
    }
}

impl fmt::Debug for Shadow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Shadow").field(&self.label).finish()
    }
}

/// Reads `res`'s body up to `cap` bytes (then drops the rest).
async fn capture(res: Response<Body>, cap: usize) -> CapturedResponse {
    let (parts, mut body) = res.into_parts();
    let head = CapturedResponse::new(parts.status, parts.headers);
    if cap == 0 {
        return head;
    }
    let mut buf = BytesMut::new();
    let state = loop {
        match body.frame().await {
            None => break BodyState::Complete,
            Some(Err(_)) => break BodyState::Incomplete,
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let room = cap - buf.len();
                if data.len() > room {
                    buf.extend_from_slice(&data[..room]);
                    break BodyState::Truncated;
                }
                buf.extend_from_slice(&data);
            }
        }
    };
    head.with_body(buf.freeze(), state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(host: Option<&str>, uri: &str) -> Parts {
        let mut b = Request::get(uri);
        if let Some(h) = host {
            b = b.header(header::HOST, h);
        }
        b.header(header::AUTHORIZATION, "Basic x")
            .header(header::COOKIE, "a=b")
            .header(header::PROXY_AUTHORIZATION, "y")
            .header(header::CONNECTION, "x-hop")
            .header("x-hop", "1")
            .header("x-kept", "1")
            .header(header::EXPECT, "100-continue")
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[test]
    fn copy_strips_credentials_and_marks_host() {
        let id = MirrorId::from_bytes([7; 12]);
        let rules = CopyRules {
            id_header: Some(HeaderName::from_static("x-mirror-id")),
            ..CopyRules::default()
        };
        let head = rules.copy_head(&parts(Some("WWW.Example.com:8080"), "/a"), id);
        let names: Vec<&str> = head.headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["host", "x-kept", "x-mirror-id"]);
        assert_eq!(head.headers[header::HOST], "www.example.com-shadow:8080");
        assert_eq!(head.headers["x-mirror-id"], id.to_string());
        assert_eq!(head.extensions.get::<MirrorId>(), Some(&id));
        assert_eq!(head.uri, "/a");
    }

    /// The client's scheme and authority stay behind: with no `Host` marked, a
    /// shadow service cannot take the front door's authority for the client's host.
    #[test]
    fn copy_targets_are_origin_form() {
        let id = MirrorId::from_bytes([1; 12]);
        let rules = |mark: &str| CopyRules {
            host: mark.parse().unwrap(),
            ..CopyRules::default()
        };
        let from_h2 = parts(None, "https://www.example.com:8443/app/x?q=1");
        let head = rules("upstream").copy_head(&from_h2, id);
        assert_eq!(head.uri, "/app/x?q=1");
        assert!(head.uri.authority().is_none());
        assert!(head.headers.get(header::HOST).is_none());
        let head = rules("suffix:-shadow").copy_head(&from_h2, id);
        assert_eq!(head.uri, "/app/x?q=1");
        assert_eq!(head.headers[header::HOST], "www.example.com-shadow:8443");
        let star = Request::options("*").body(()).unwrap().into_parts().0;
        assert_eq!(rules("keep").copy_head(&star, id).uri, "*");
    }

    #[test]
    fn host_marks() {
        let id = MirrorId::from_bytes([0; 12]);
        let mark = |m: &str, host: Option<&str>, uri: &str| {
            let rules = CopyRules {
                host: m.parse().unwrap(),
                ..CopyRules::default()
            };
            let head = rules.copy_head(&parts(host, uri), id);
            head.headers
                .get(header::HOST)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(
            mark("suffix:.mirror", Some("a.b"), "/").as_deref(),
            Some("a.b.mirror")
        );
        assert_eq!(
            mark("suffix:-s", None, "http://h:81/x").as_deref(),
            Some("h-s:81")
        );
        assert_eq!(mark("suffix:-s", Some("[::1]:80"), "/"), None);
        assert_eq!(mark("suffix:-s", None, "/"), None);
        assert_eq!(
            mark("shadow.test", Some("a"), "/").as_deref(),
            Some("shadow.test")
        );
        assert_eq!(mark("upstream", Some("a"), "/"), None);
        assert_eq!(mark("keep", Some("a"), "/").as_deref(), Some("a"));
        // From an HTTP/2 client: no Host, the authority in the URI.
        assert_eq!(
            mark("keep", None, "http://u@h:81/x").as_deref(),
            Some("h:81")
        );
        assert_eq!(
            mark("keep", Some("a"), "http://h:81/x").as_deref(),
            Some("a")
        );
        assert_eq!(mark("keep", None, "/"), None);
        assert!("".parse::<HostMark>().is_err());
        assert!("a b".parse::<HostMark>().is_err());
        assert!(HostMark::suffix("").is_err());
    }
}
