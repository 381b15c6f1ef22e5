//! Typed rule targets and how they are read from and written to a request.

use std::{borrow::Cow, fmt, sync::Arc};

use frontdoor_core::{
    canonicalize_with, CanonicalOptions, ConnInfo, Mount, OriginalUri, Resolved, Vars,
};
use http::{
    header::HOST,
    uri::{Authority, PathAndQuery, Scheme},
    HeaderName, HeaderValue, Request, Uri,
};

use crate::error::CleanupErrorKind;

/// What a rule reads or writes: the typed successor of a WSGI environ key.
///
/// | target | reads | writes | remove |
/// |---|---|---|---|
/// | [`Header`](Target::Header) | the first value of the header | replaces every value; the value must be a valid [`HeaderValue`] | removes every value |
/// | [`ScriptName`](Target::ScriptName) | the [`Mount`] script name (`""` when absent) | the [`Mount`] extension; the URI is unchanged | sets it to `""` |
/// | [`PathInfo`](Target::PathInfo) | the [`Mount`] path info, or `uri().path()` | the [`Mount`] extension **and** the URI path, query kept byte for byte ([`Mount::apply`]) | sets it to `""` (URI path `/`) |
/// | [`OriginalUri`](Target::OriginalUri) | the [`OriginalUri`] extension, absent when unset | the extension, through [`OriginalUri::rewrite`] (must parse as a [`Uri`]) | removes the extension ([`OriginalUri::remove`]) |
/// | [`Scheme`](Target::Scheme) | [`Resolved::scheme`], else an absolute-form URI's scheme, else `https`/`http` from [`ConnInfo::tls`] | [`Resolved::scheme`] (through [`Resolved::set_scheme`]) and the scheme of an absolute-form URI (never [`ConnInfo`]); skipped when neither exists | a build error |
/// | [`Var`](Target::Var) | the [`Vars`] extension | the [`Vars`] extension (inserted when absent) | removes the key |
///
/// Values written to [`Scheme`](Target::Scheme) are `http` or `https` (any case), or
/// the CGI `HTTPS` flag spellings: `on`, `1`, `yes`, `true` mean https and `off`,
/// `0`, `no`, `false` mean http. Reading it gives `http` or `https`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// A request header (`HTTP_X_FOO` in CGI terms).
    Header(HeaderName),
    /// The consumed mount prefix (`SCRIPT_NAME`).
    ScriptName,
    /// The remaining path (`PATH_INFO`); writing it rewrites the request URI.
    PathInfo,
    /// The request target as first seen (`REQUEST_URI`).
    OriginalUri,
    /// The effective scheme (`wsgi.url_scheme`, `HTTPS`).
    Scheme,
    /// A free variable in the [`Vars`] extension (any other environ key).
    Var(Arc<str>),
}

impl Target {
    /// A header target.
    #[must_use]
    pub const fn header(name: HeaderName) -> Self {
        Self::Header(name)
    }

    /// A free variable; the name must not be empty (checked when the rule set is built).
    pub fn var(name: impl Into<Arc<str>>) -> Self {
        Self::Var(name.into())
    }

    /// Maps a CGI/WSGI environ key onto a typed target, as the text syntaxes do:
    ///
    /// * `HTTP_X_FOO_BAR` is the header `x-foo-bar` (lowercased, `_` becomes `-`);
    /// * `SCRIPT_NAME`, `PATH_INFO`, `REQUEST_URI` are the path targets;
    /// * `HTTPS` and `wsgi.url_scheme` are [`Target::Scheme`];
    /// * anything else is a [`Target::Var`] of that exact name.
    ///
    /// The mapping is lossy: WSGI folds `-` and `_` in header names, so `x-foo_bar`
    /// cannot be named this way (use [`Target::Header`]). `CONTENT_TYPE` and
    /// `CONTENT_LENGTH` are variables, not headers.
    ///
    /// ```
    /// use frontdoor_cleanup::Target;
    /// use http::HeaderName;
    ///
    /// assert_eq!(
    ///     Target::from_cgi_key("HTTP_X_FORWARDED_HOST")?,
    ///     Target::Header(HeaderName::from_static("x-forwarded-host"))
    /// );
    /// assert_eq!(Target::from_cgi_key("wsgi.url_scheme")?, Target::Scheme);
    /// assert_eq!(Target::from_cgi_key("mode")?, Target::var("mode"));
    /// assert!(Target::from_cgi_key("").is_err());
    /// # Ok::<(), frontdoor_cleanup::CleanupErrorKind>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CleanupErrorKind::InvalidTarget`] for an empty key or an `HTTP_` key that is
    /// not a valid header name.
    pub fn from_cgi_key(key: &str) -> Result<Self, CleanupErrorKind> {
        match key {
            "" => Err(CleanupErrorKind::InvalidTarget("empty key".to_owned())),
            "SCRIPT_NAME" => Ok(Self::ScriptName),
            "PATH_INFO" => Ok(Self::PathInfo),
            "REQUEST_URI" => Ok(Self::OriginalUri),
            "HTTPS" | "wsgi.url_scheme" => Ok(Self::Scheme),
            _ => match key.strip_prefix("HTTP_") {
                Some(rest) => {
                    let name = rest.to_ascii_lowercase().replace('_', "-");
                    HeaderName::from_bytes(name.as_bytes())
                        .map(Self::Header)
                        .map_err(|_| {
                            CleanupErrorKind::InvalidTarget(format!(
                                "{key:?} is not a valid header name"
                            ))
                        })
                }
                None => Ok(Self::Var(key.into())),
            },
        }
    }

    /// Whether this is a path target (script name, path info, original URI), where
    /// prefix stripping is anchored on segment boundaries.
    #[must_use]
    pub const fn is_path(&self) -> bool {
        matches!(self, Self::ScriptName | Self::PathInfo | Self::OriginalUri)
    }

    pub(crate) fn validate(&self) -> Result<(), CleanupErrorKind> {
        match self {
            Self::Var(name) if name.is_empty() => Err(CleanupErrorKind::InvalidTarget(
                "empty variable name".to_owned(),
            )),
            _ => Ok(()),
        }
    }
}

impl From<HeaderName> for Target {
    fn from(name: HeaderName) -> Self {
        Self::Header(name)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header(name) => write!(f, "header:{name}"),
            Self::ScriptName => f.write_str("script_name"),
            Self::PathInfo => f.write_str("path_info"),
            Self::OriginalUri => f.write_str("original_uri"),
            Self::Scheme => f.write_str("scheme"),
            Self::Var(name) => write!(f, "var:{name}"),
        }
    }
}

// === scheme values ===

/// Parses a value written to [`Target::Scheme`].
pub(crate) fn parse_scheme(value: &str) -> Option<Scheme> {
    let v = value.trim();
    let is = |s: &str| v.eq_ignore_ascii_case(s);
    if ["https", "on", "1", "yes", "true"].into_iter().any(is) {
        Some(Scheme::HTTPS)
    } else if ["http", "off", "0", "no", "false"].into_iter().any(is) {
        Some(Scheme::HTTP)
    } else {
        None
    }
}

// === request access ===

/// Why a runtime write was skipped.
#[derive(Debug)]
pub(crate) enum WriteError {
    HeaderValue,
    PathInfo,
    Uri,
    Scheme,
    NoSchemeCarrier,
}

impl WriteError {
    pub(crate) const fn as_str(&self) -> &'static str {
        match self {
            Self::HeaderValue => "value is not a valid header value (CR, LF, NUL or control)",
            Self::PathInfo => "value is not a valid path info",
            Self::Uri => "value is not a valid uri",
            Self::Scheme => "value is not a scheme (http, https, on, off)",
            Self::NoSchemeCarrier => {
                "no Resolved extension and no absolute-form uri to hold a scheme"
            }
        }
    }
}

/// Reads a target; `None` when it is absent.
pub(crate) fn read<'a, B>(req: &'a Request<B>, target: &Target) -> Option<Cow<'a, str>> {
    match target {
        Target::Header(name) => {
            req.headers()
                .get(name)
                .map(|v| match std::str::from_utf8(v.as_bytes()) {
                    Ok(s) => Cow::Borrowed(s),
                    Err(_) => String::from_utf8_lossy(v.as_bytes()),
                })
        }
        Target::ScriptName => Some(Cow::Borrowed(
            req.extensions()
                .get::<Mount>()
                .map_or("", Mount::script_name),
        )),
        Target::PathInfo => Some(Cow::Borrowed(
            req.extensions()
                .get::<Mount>()
                .map_or_else(|| req.uri().path(), Mount::path_info),
        )),
        Target::OriginalUri => req
            .extensions()
            .get::<OriginalUri>()
            .map(|u| Cow::Owned(u.0.to_string())),
        Target::Scheme => read_scheme(req).map(Cow::Borrowed),
        Target::Var(name) => req
            .extensions()
            .get::<Vars>()
            .and_then(|v| v.get(name))
            .map(Cow::Borrowed),
    }
}

fn read_scheme<B>(req: &Request<B>) -> Option<&str> {
    if let Some(r) = req.extensions().get::<Resolved>() {
        return Some(r.scheme.as_str());
    }
    if let Some(s) = req.uri().scheme_str() {
        return Some(s);
    }
    req.extensions()
        .get::<ConnInfo>()
        .map(|c| if c.tls { "https" } else { "http" })
}

/// Writes a text value to a target.
pub(crate) fn write<B>(
    req: &mut Request<B>,
    target: &Target,
    value: String,
    strict: bool,
) -> Result<(), WriteError> {
    match target {
        Target::Header(name) => {
            let value = HeaderValue::try_from(value).map_err(|_| WriteError::HeaderValue)?;
            req.headers_mut().insert(name.clone(), value);
            Ok(())
        }
        Target::ScriptName => {
            let mut mount = Mount::of(req);
            mount.set_script_name(value);
            req.extensions_mut().insert(mount);
            Ok(())
        }
        Target::PathInfo => write_path_info(req, value, strict),
        Target::OriginalUri => {
            let uri = Uri::try_from(value).map_err(|_| WriteError::Uri)?;
            OriginalUri::rewrite(req, uri);
            Ok(())
        }
        Target::Scheme => {
            let scheme = parse_scheme(&value).ok_or(WriteError::Scheme)?;
            write_scheme(req, &scheme)
        }
        Target::Var(name) => {
            let ext = req.extensions_mut();
            match ext.get_mut::<Vars>() {
                Some(vars) => {
                    vars.set(&**name, value);
                }
                None => {
                    let mut vars = Vars::default();
                    vars.set(&**name, value);
                    ext.insert(vars);
                }
            }
            Ok(())
        }
    }
}

/// A path info is valid when it is empty or starts with `/` (strict), and fits in a URI.
pub(crate) fn valid_path_info(value: &str, strict: bool) -> bool {
    if value.is_empty() {
        return true;
    }
    // compat: WFront's relative remainders (`s/x`) are checked as if absolute
    let absolute: Cow<'_, str> = if value.starts_with('/') {
        Cow::Borrowed(value)
    } else if strict {
        return false;
    } else {
        Cow::Owned(format!("/{value}"))
    };
    PathAndQuery::try_from(&*absolute).is_ok_and(|pq| pq.query().is_none())
}

fn write_path_info<B>(req: &mut Request<B>, value: String, strict: bool) -> Result<(), WriteError> {
    if !valid_path_info(&value, strict) {
        return Err(WriteError::PathInfo);
    }
    // A written path is canonicalised again, with the options the resolver applied
    // (or a route narrowed to): the upstream gets what the matching saw. A path those
    // options refuse (`%2F` under `reject`) is not written.
    let value = if strict && !value.is_empty() {
        let options = req
            .extensions()
            .get::<Resolved>()
            .map_or_else(CanonicalOptions::new, Resolved::canonical);
        match canonicalize_with(&value, options) {
            Ok(Cow::Borrowed(_)) => value,
            Ok(Cow::Owned(canonical)) => canonical,
            Err(_) => return Err(WriteError::PathInfo),
        }
    } else {
        value
    };
    let mut mount = Mount::of(req);
    if strict || value.is_empty() || value.starts_with('/') {
        mount.set_path_info(value);
        return mount.apply(req).map_err(|_| WriteError::PathInfo);
    }
    // compat: WFront's relative path info (`s/x`, F27/M31) is kept exactly in the
    // Mount; the URI cannot hold a relative path, so it gets a leading `/`.
    let mut for_uri = mount.clone();
    for_uri.set_path_info(format!("/{value}"));
    let uri = for_uri
        .rebuild_uri(req.uri())
        .map_err(|_| WriteError::PathInfo)?;
    *req.uri_mut() = uri;
    mount.set_path_info(value);
    req.extensions_mut().insert(mount);
    Ok(())
}

pub(crate) fn write_scheme<B>(req: &mut Request<B>, scheme: &Scheme) -> Result<(), WriteError> {
    let mut carried = false;
    if let Some(r) = req.extensions_mut().get_mut::<Resolved>() {
        r.set_scheme(scheme.clone());
        carried = true;
    }
    if req.uri().scheme().is_some() {
        let mut parts = req.uri().clone().into_parts();
        parts.scheme = Some(scheme.clone());
        *req.uri_mut() = Uri::from_parts(parts).map_err(|_| WriteError::Uri)?;
        carried = true;
    }
    if carried {
        Ok(())
    } else {
        Err(WriteError::NoSchemeCarrier)
    }
}

/// Sets the `Host` header, and the authority of an absolute-form URI so the two agree.
pub(crate) fn write_host<B>(req: &mut Request<B>, host: String) -> Result<(), WriteError> {
    let value = HeaderValue::try_from(host).map_err(|_| WriteError::HeaderValue)?;
    if req.uri().authority().is_some() {
        let authority = Authority::try_from(value.as_bytes()).map_err(|_| WriteError::Uri)?;
        let mut parts = req.uri().clone().into_parts();
        parts.authority = Some(authority);
        *req.uri_mut() = Uri::from_parts(parts).map_err(|_| WriteError::Uri)?;
    }
    req.headers_mut().insert(HOST, value);
    Ok(())
}

/// Removes a target. Removing the scheme is rejected when the rule set is built.
pub(crate) fn remove<B>(req: &mut Request<B>, target: &Target) -> Result<(), WriteError> {
    match target {
        Target::Header(name) => {
            req.headers_mut().remove(name);
            Ok(())
        }
        Target::ScriptName => write(req, target, String::new(), true),
        Target::PathInfo => write_path_info(req, String::new(), true),
        Target::OriginalUri => {
            OriginalUri::remove(req);
            Ok(())
        }
        Target::Scheme => Ok(()),
        Target::Var(name) => {
            if let Some(vars) = req.extensions_mut().get_mut::<Vars>() {
                vars.remove(name);
            }
            Ok(())
        }
    }
}
