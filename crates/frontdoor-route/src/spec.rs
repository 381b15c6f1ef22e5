//! Route spec parsing: the `host:port:path` language, its glob fields, the regex
//! escape hatch, macros, and the WFront 0.4 compat compilation.
//!
//! Everything here runs once, at build time. Each parser returns a [`RouteError`]
//! naming the spec and the reason; nothing here is used on the request path except
//! the compiled matchers' `matches` methods.
//!
//! # Strict grammar (the default)
//!
//! A spec is split at its first two colons into HOST, PORT and PATH; everything after
//! the second colon is the path. A missing, empty or `*` field means "any".
//!
//! | field | forms | matching |
//! |---|---|---|
//! | HOST | `example.com`, `*.example.com`, `www.*.example.*` | ASCII case-insensitive, one trailing dot ignored; `*` matches any run of characters within the host (never `:` or `/`); "any" still needs a non-empty host |
//! | PORT | `8080`, `http` (a label of the [`Schemes`] table), `*` | a number: the request port; a label: the request's by-scheme label when a resolver stamped one, else the request port is in the label's set |
//! | PATH | `/svn`, `/foo*`, `/foo/*/bar`, `/a\*b` | a prefix on segment boundaries; `*` matches within one segment; the matched prefix is consumed |
//!
//! Path specs are canonicalised with [`frontdoor_core::canonicalize`] (so `%7e` is `~`
//! and `/a/./b` is `/a/b`), a trailing `/` is dropped (`/pok/` is `/pok`) and `/` is
//! "any path" (it consumes nothing).

use std::{collections::BTreeMap, fmt, sync::Arc};

use frontdoor_core::{canonicalize, Schemes};
use regex::Regex;

use crate::RouteError;

pub use frontdoor_core::Mode;

/// What a route matches on: a `host:port:path` spec or a regex.
///
/// Strings convert into [`RouteSpec::Spec`]; use [`RouteSpec::regex`] for the regex
/// escape hatch.
///
/// ```
/// use frontdoor_route::RouteSpec;
///
/// assert_eq!(RouteSpec::from("*.example.com::/svn"), RouteSpec::Spec("*.example.com::/svn".into()));
/// assert_eq!(RouteSpec::regex("^api\\."), RouteSpec::Regex("^api\\.".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteSpec {
    /// A `host:port:path` spec (macros `{name}` are expanded at build time).
    Spec(String),
    /// A regex matched, anchored at the start, against `host:port:path` (the
    /// `Display` form of [`frontdoor_core::Resolved`], with the current path info). A
    /// named group `pathinfo` starting at the path drives consumption.
    Regex(String),
}

impl RouteSpec {
    /// A regex spec.
    pub fn regex(pattern: impl Into<String>) -> Self {
        Self::Regex(pattern.into())
    }
}

impl From<&str> for RouteSpec {
    fn from(s: &str) -> Self {
        Self::Spec(s.to_owned())
    }
}

impl From<String> for RouteSpec {
    fn from(s: String) -> Self {
        Self::Spec(s)
    }
}

impl fmt::Display for RouteSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Spec(s) | Self::Regex(s) => f.write_str(s),
        }
    }
}

// === Glob ===

/// A `*` glob: literal parts separated by stars. No star means an exact match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Glob {
    parts: Vec<Box<str>>,
}

impl Glob {
    /// Splits `text` on unescaped `*`; `\*` is a literal star. Returns the glob and
    /// whether any other backslash was seen.
    fn parse(text: &str) -> (Self, bool) {
        let mut parts = Vec::new();
        let mut cur = String::new();
        let mut stray_backslash = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'*') => {
                    chars.next();
                    cur.push('*');
                }
                '\\' => {
                    stray_backslash = true;
                    cur.push('\\');
                }
                '*' => parts.push(std::mem::take(&mut cur).into_boxed_str()),
                c => cur.push(c),
            }
        }
        parts.push(cur.into_boxed_str());
        (Self { parts }, stray_backslash)
    }

    fn from_parts(parts: Vec<Box<str>>) -> Self {
        Self { parts }
    }

    pub(crate) fn has_star(&self) -> bool {
        self.parts.len() > 1
    }

    /// The literal text after the last star (the whole text without stars).
    pub(crate) fn suffix(&self) -> &str {
        self.parts.last().map_or("", |p| p)
    }

    /// Whether the whole of `s` matches. Stars match any run of bytes (the callers
    /// exclude separators before calling).
    pub(crate) fn matches(&self, s: &str) -> bool {
        let n = self.parts.len();
        let (Some(first), Some(last)) = (self.parts.first(), self.parts.last()) else {
            return s.is_empty();
        };
        if n == 1 {
            return s == &**first;
        }
        if s.len() < first.len() + last.len() || !s.starts_with(&**first) || !s.ends_with(&**last) {
            return false;
        }
        let Some(mut mid) = s.get(first.len()..s.len() - last.len()) else {
            return false;
        };
        for part in &self.parts[1..n - 1] {
            match mid.find(&**part) {
                Some(i) => mid = &mid[i + part.len()..],
                None => return false,
            }
        }
        true
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str("*")?;
            }
            f.write_str(&part.replace('*', "\\*"))?;
        }
        Ok(())
    }
}

// === Strict fields ===

/// The host field of a strict spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostPat {
    /// Any non-empty host.
    Any,
    /// An exact, lowercase host.
    Exact(Box<str>),
    /// A lowercase glob with at least one star.
    Glob(Glob),
}

impl HostPat {
    pub(crate) fn matches(&self, host: &str) -> bool {
        match self {
            Self::Any => !host.is_empty(),
            Self::Exact(h) => **h == *host,
            Self::Glob(g) => !host.is_empty() && !host.contains([':', '/']) && g.matches(host),
        }
    }
}

/// The port field of a strict spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PortPat {
    Any,
    /// A port number.
    Number(u16),
    /// A scheme label (lowercase) and its sorted port set.
    Label(Box<str>, Box<[u16]>),
}

impl PortPat {
    /// Whether a request on `port`, labelled `label` by a by-scheme resolver, matches.
    /// A label spec matches a labelled request by its label alone (the resolver
    /// decided, possibly from the socket the request arrived on), and an unlabelled
    /// one by the label's port set.
    pub(crate) fn matches(&self, port: u16, label: Option<&str>) -> bool {
        match (self, label) {
            (Self::Any, _) => true,
            (Self::Number(n), _) => *n == port,
            (Self::Label(l, _), Some(label)) => **l == *label,
            (Self::Label(_, ports), None) => ports.contains(&port),
        }
    }
}

/// The path field of a strict spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PathPat {
    /// Any path; consumes nothing.
    Any,
    /// A canonical prefix without trailing slash, matched on segment boundaries.
    Prefix(Box<str>),
    /// One glob per segment; the first `literal` segments have no star.
    Glob { segments: Vec<Glob>, literal: usize },
}

impl PathPat {
    /// The number of bytes of `path` this pattern consumes, or `None` when it does not
    /// match. `path` is canonical.
    pub(crate) fn consumed(&self, path: &str) -> Option<usize> {
        match self {
            Self::Any => Some(0),
            Self::Prefix(p) => {
                let rest = path.strip_prefix(&**p)?;
                (rest.is_empty() || rest.starts_with('/')).then_some(p.len())
            }
            Self::Glob { segments, .. } => {
                let mut len = 0;
                let mut rest = path;
                for seg in segments {
                    rest = rest.strip_prefix('/')?;
                    let end = rest.find('/').unwrap_or(rest.len());
                    let (s, tail) = rest.split_at(end);
                    if s.is_empty() || !seg.matches(s) {
                        return None;
                    }
                    len += 1 + s.len();
                    rest = tail;
                }
                Some(len)
            }
        }
    }

    /// The leading literal segments, for the index.
    pub(crate) fn literal_segments(&self) -> Vec<&str> {
        match self {
            Self::Any => Vec::new(),
            Self::Prefix(p) => p[1..].split('/').collect(),
            Self::Glob { segments, literal } => {
                segments[..*literal].iter().map(Glob::suffix).collect()
            }
        }
    }
}

/// A parsed strict `host:port:path` spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StrictSpec {
    pub(crate) host: HostPat,
    pub(crate) port: PortPat,
    pub(crate) path: PathPat,
}

impl fmt::Display for StrictSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            HostPat::Any => f.write_str("*")?,
            HostPat::Exact(h) => f.write_str(h)?,
            HostPat::Glob(g) => write!(f, "{g}")?,
        }
        f.write_str(":")?;
        match &self.port {
            PortPat::Any => f.write_str("*")?,
            PortPat::Number(n) => write!(f, "{n}")?,
            PortPat::Label(label, _) => f.write_str(label)?,
        }
        f.write_str(":")?;
        match &self.path {
            PathPat::Any => f.write_str("*"),
            PathPat::Prefix(p) => f.write_str(&p.replace('*', "\\*")),
            PathPat::Glob { segments, .. } => {
                for seg in segments {
                    write!(f, "/{seg}")?;
                }
                Ok(())
            }
        }
    }
}

/// Splits at the first two colons; absent fields are `None`.
pub(crate) fn split3(spec: &str) -> (&str, Option<&str>, Option<&str>) {
    let mut it = spec.splitn(3, ':');
    let host = it.next().unwrap_or("");
    (host, it.next(), it.next())
}

const fn is_host_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'*')
}

/// A private-use character standing for a glob star while the path is canonicalised.
const STAR: char = '\u{E000}';

pub(crate) fn parse_strict(spec: &str, schemes: &Schemes) -> Result<StrictSpec, String> {
    let (host, port, path) = split3(spec);
    let host = parse_host(host)?;
    let port = parse_port(port.unwrap_or(""), schemes)?;
    let path = parse_path(path.unwrap_or(""))?;
    Ok(StrictSpec { host, port, path })
}

fn parse_host(host: &str) -> Result<HostPat, String> {
    if host.is_empty() || host == "*" {
        return Ok(HostPat::Any);
    }
    if host.starts_with('[') {
        return Err(
            "an IPv6 host cannot be written in a host:port:path spec; use a regex spec".into(),
        );
    }
    if let Some(b) = host.bytes().find(|&b| !is_host_char(b)) {
        return Err(format!(
            "invalid character {:?} in host (allowed: letters, digits, '-', '.', '_', '~' and '*')",
            char::from(b)
        ));
    }
    let mut host = host.to_ascii_lowercase();
    if host.ends_with('.') && host.len() > 1 {
        host.pop();
    }
    if host.is_empty() || host.starts_with('.') || host.contains("..") {
        return Err("empty label in host".into());
    }
    let (glob, _) = Glob::parse(&host);
    Ok(if glob.has_star() {
        HostPat::Glob(glob)
    } else {
        HostPat::Exact(host.into_boxed_str())
    })
}

fn parse_port(port: &str, schemes: &Schemes) -> Result<PortPat, String> {
    if port.is_empty() || port == "*" {
        return Ok(PortPat::Any);
    }
    if port.bytes().all(|b| b.is_ascii_digit()) {
        let n: u16 = port
            .parse()
            .map_err(|_| format!("port {port} is out of range"))?;
        return Ok(PortPat::Number(n));
    }
    match schemes.ports(port) {
        Some(ports) => Ok(PortPat::Label(
            port.to_ascii_lowercase().into(),
            ports.into(),
        )),
        None => Err(format!(
            "port {port:?} is neither a number, '*' nor a scheme label (known labels: {})",
            schemes
                .iter()
                .map(|(l, _)| l)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn parse_path(path: &str) -> Result<PathPat, String> {
    if path.is_empty() || path == "*" {
        return Ok(PathPat::Any);
    }
    if !path.starts_with('/') {
        return Err("path must start with '/'".into());
    }
    if let Some(c) = path
        .chars()
        .find(|c| !c.is_ascii() || c.is_ascii_control() || matches!(c, ' ' | '?' | '#'))
    {
        return Err(format!(
            "invalid character {c:?} in path (percent-encode it; a path never holds the query)"
        ));
    }
    // Mark glob stars, canonicalise, then split segments back into globs.
    let mut marked = String::with_capacity(path.len());
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'*') => {
                chars.next();
                marked.push('*');
            }
            '\\' => return Err("a backslash is only allowed before '*'".into()),
            '*' => marked.push(STAR),
            c => marked.push(c),
        }
    }
    let canonical = canonicalize(&marked).map_err(|e| format!("path is not valid: {e}"))?;
    let trimmed = canonical.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(PathPat::Any);
    }
    if !trimmed.contains(STAR) {
        return Ok(PathPat::Prefix(trimmed.into()));
    }
    let segments: Vec<Glob> = trimmed[1..]
        .split('/')
        .map(|seg| Glob::from_parts(seg.split(STAR).map(Into::into).collect()))
        .collect();
    let literal = segments.iter().take_while(|g| !g.has_star()).count();
    Ok(PathPat::Glob { segments, literal })
}

// === Regex specs ===

/// A compiled regex spec (both modes).
#[derive(Clone, Debug)]
pub(crate) struct RegexSpec {
    /// The pattern as written (shown by `dump_mappings`).
    pub(crate) source: Arc<str>,
    /// The start-anchored pattern text fed to `Regex`/`RegexSet`.
    pub(crate) anchored: String,
    pub(crate) regex: Regex,
    /// Index of the `pathinfo` group, if any.
    pub(crate) pathinfo: Option<usize>,
}

pub(crate) fn compile_regex(source: &str, shown: &str) -> Result<RegexSpec, String> {
    let anchored = format!("^(?:{source})");
    let regex = Regex::new(&anchored).map_err(|e| format!("invalid regex: {e}"))?;
    let pathinfo = regex.capture_names().position(|n| n == Some("pathinfo"));
    Ok(RegexSpec {
        source: shown.into(),
        anchored,
        regex,
        pathinfo,
    })
}

// === Macros ===

/// Expands `{name}` macros (WFront's `MacroMap`); `{{` and `}}` are literal braces.
pub(crate) fn expand_macros(
    spec: &str,
    macros: &BTreeMap<String, String>,
) -> Result<String, String> {
    if !spec.contains(['{', '}']) {
        return Ok(spec.to_owned());
    }
    let mut out = String::with_capacity(spec.len());
    let mut rest = spec;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(t) = tail.strip_prefix("{{") {
            out.push('{');
            rest = t;
        } else if let Some(t) = tail.strip_prefix("}}") {
            out.push('}');
            rest = t;
        } else if let Some(t) = tail.strip_prefix('{') {
            let end = t
                .find('}')
                .ok_or_else(|| "unclosed '{' in macro reference".to_owned())?;
            let name = &t[..end];
            let value = macros
                .get(name)
                .ok_or_else(|| format!("unknown macro {{{name}}}"))?;
            out.push_str(value);
            rest = &t[end + 1..];
        } else {
            return Err("unmatched '}' (write '}}' for a literal brace)".into());
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Builds a [`RouteError`] for route `index`.
pub(crate) fn invalid(index: usize, spec: &RouteSpec, reason: String) -> RouteError {
    RouteError::invalid(index, spec.to_string(), reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matching() {
        let g = |s: &str| Glob::parse(s).0;
        assert!(g("*.example.com").matches("www.example.com"));
        assert!(g("*.example.com").matches("a.b.example.com"));
        assert!(!g("*.example.com").matches("example.com"));
        assert!(g("a*b*c").matches("abc"));
        assert!(g("a*b*c").matches("axxbyyc"));
        assert!(!g("a*b*c").matches("axxbyy"));
        assert!(!g("ab*ba").matches("aba"));
        assert!(g("foo\\*bar").matches("foo*bar"));
        assert!(!g("foo\\*bar").matches("fooxbar"));
        assert_eq!(g("a\\*b*c").to_string(), "a\\*b*c");
    }

    #[test]
    fn macros() {
        let m: BTreeMap<String, String> = [("domain".to_owned(), "example.com".to_owned())].into();
        assert_eq!(expand_macros("{domain}", &m).unwrap(), "example.com");
        assert_eq!(
            expand_macros("www.{domain}:http", &m).unwrap(),
            "www.example.com:http"
        );
        assert_eq!(expand_macros("::/{{x}}", &m).unwrap(), "::/{x}");
        assert_eq!(
            expand_macros("{nope}", &m).unwrap_err(),
            "unknown macro {nope}"
        );
        assert!(expand_macros("{domain", &m).is_err());
        assert!(expand_macros("a}", &m).is_err());
    }
}
