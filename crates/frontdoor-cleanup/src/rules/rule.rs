//! One built rule and how it rewrites a request.

use std::{borrow::Cow, fmt};

use frontdoor_core::{Mode, OriginalUri, Resolved};
use http::{uri::Scheme, HeaderValue, Request, Uri};
use regex::Regex;

use crate::{
    target::{self, Target, WriteError},
    template::Template,
};

// === Category ===

/// The fixed evaluation order: rules run by category in this order, and in the order
/// given within a category, whatever order they were added in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Category {
    /// `copy`.
    Copy,
    /// `subtract`, `strip_prefix`, `strip_path`, `remove_first_substring`.
    Subtract,
    /// `sub` (regex).
    Sub,
    /// `template` (WFront's `sprintf`).
    Template,
    /// `set_default` (WFront's `setdefault`).
    SetDefault,
    /// `remove`.
    Remove,
    /// `set` (WFront's `replace` and plain keys).
    Set,
    /// `reset_host`.
    ResetHost,
}

// === Op ===

/// A compiled regex, equal to another when its pattern text is.
#[derive(Clone)]
pub(super) struct Pattern(pub(super) Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Pattern {}

/// A literal `set` value, validated for its target when the set was built.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum SetValue {
    Header(HeaderValue),
    Text(String),
    Scheme(Scheme),
}

/// What a rule does, with every argument validated.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Op {
    Copy { from: Target, to: Target },
    StripPrefix { target: Target, prefix: String },
    RemoveFirst { target: Target, needle: String },
    Sub { target: Target, regex: Pattern },
    Template { target: Target, template: Template },
    SetDefault { target: Target, template: Template },
    Remove { target: Target },
    Set { target: Target, value: SetValue },
    ResetHost,
}

// === Rule ===

/// One built rule. Its `Display` is the operation and its typed targets, e.g.
/// `strip_prefix path_info "/pony"`; [`Rules`](crate::Rules)'s `Debug` lists them in
/// evaluation order.
#[derive(Clone, PartialEq, Eq)]
pub struct Rule {
    op: Op,
}

impl Rule {
    pub(super) const fn new(op: Op) -> Self {
        Self { op }
    }

    /// The category that fixes when the rule runs.
    #[must_use]
    pub const fn category(&self) -> Category {
        match self.op {
            Op::Copy { .. } => Category::Copy,
            Op::StripPrefix { .. } | Op::RemoveFirst { .. } => Category::Subtract,
            Op::Sub { .. } => Category::Sub,
            Op::Template { .. } => Category::Template,
            Op::SetDefault { .. } => Category::SetDefault,
            Op::Remove { .. } => Category::Remove,
            Op::Set { .. } => Category::Set,
            Op::ResetHost => Category::ResetHost,
        }
    }

    /// The target the rule writes (`host` header for `reset_host`).
    #[must_use]
    pub fn target(&self) -> Target {
        match &self.op {
            Op::Copy { to, .. } => to.clone(),
            Op::StripPrefix { target, .. }
            | Op::RemoveFirst { target, .. }
            | Op::Sub { target, .. }
            | Op::Template { target, .. }
            | Op::SetDefault { target, .. }
            | Op::Remove { target }
            | Op::Set { target, .. } => target.clone(),
            Op::ResetHost => Target::Header(http::header::HOST),
        }
    }

    /// Runs the rule on `req`. A result that is invalid for its target is skipped
    /// with a `tracing` event; nothing fails.
    pub(super) fn apply<B>(&self, req: &mut Request<B>, mode: Mode) {
        match self.op.run(req, mode) {
            Ok(()) => {}
            Err(e @ WriteError::NoSchemeCarrier) => {
                tracing::debug!(rule = %self, reason = e.as_str(), "cleanup rule skipped");
            }
            Err(e) => tracing::warn!(rule = %self, reason = e.as_str(), "cleanup rule skipped"),
        }
    }
}

impl Op {
    fn run<B>(&self, req: &mut Request<B>, mode: Mode) -> Result<(), WriteError> {
        let strict = mode == Mode::Strict;
        match self {
            Self::Copy { from, to } => copy(req, from, to, strict),
            Self::StripPrefix { target, prefix } => {
                edit(req, target, strict, |v| strip_segment_prefix(v, prefix))
            }
            Self::RemoveFirst { target, needle } => {
                edit(req, target, strict, |v| remove_first(v, needle))
            }
            Self::Sub { target, regex } => edit(req, target, strict, |v| {
                regex
                    .0
                    .find(v)
                    .map(|m| [&v[..m.start()], &v[m.end()..]].concat())
            }),
            Self::Template { target, template } => {
                let value = render(req, target, template);
                target::write(req, target, value, strict)
            }
            Self::SetDefault { target, template } => {
                if target::read(req, target).is_some_and(|v| !v.is_empty()) {
                    return Ok(());
                }
                let value = render(req, target, template);
                target::write(req, target, value, strict)
            }
            Self::Remove { target } => target::remove(req, target),
            Self::Set { target, value } => set(req, target, value, strict),
            Self::ResetHost => reset_host(req, mode),
        }
    }
}

// === the operations ===

fn render<B>(req: &Request<B>, target: &Target, template: &Template) -> String {
    let own = target::read(req, target);
    template.render(own.as_deref(), |t| target::read(req, t))
}

fn set<B>(
    req: &mut Request<B>,
    target: &Target,
    value: &SetValue,
    strict: bool,
) -> Result<(), WriteError> {
    match value {
        SetValue::Header(v) => {
            if let Target::Header(name) = target {
                req.headers_mut().insert(name.clone(), v.clone());
            }
            Ok(())
        }
        SetValue::Scheme(s) => target::write_scheme(req, s),
        SetValue::Text(s) => target::write(req, target, s.clone(), strict),
    }
}

fn copy<B>(
    req: &mut Request<B>,
    from: &Target,
    to: &Target,
    strict: bool,
) -> Result<(), WriteError> {
    if let (Target::Header(src), Target::Header(dst)) = (from, to) {
        // header to header: every value, byte for byte
        let values: Vec<HeaderValue> = req.headers().get_all(src).iter().cloned().collect();
        if !values.is_empty() {
            req.headers_mut().remove(dst);
            for v in values {
                req.headers_mut().append(dst.clone(), v);
            }
        }
        return Ok(());
    }
    match target::read(req, from).map(Cow::into_owned) {
        Some(v) => target::write(req, to, v, strict),
        None => Ok(()),
    }
}

/// Reads a present target, applies `f`, and writes the result back when it changed.
fn edit<B>(
    req: &mut Request<B>,
    target: &Target,
    strict: bool,
    f: impl FnOnce(&str) -> Option<String>,
) -> Result<(), WriteError> {
    if *target == Target::OriginalUri {
        return edit_original_path(req, f);
    }
    let Some(new) = target::read(req, target).and_then(|v| f(&v)) else {
        return Ok(());
    };
    target::write(req, target, new, strict)
}

/// [`edit`] on the [`OriginalUri`]: acts on the path and keeps the query (and any
/// scheme and authority) byte for byte.
fn edit_original_path<B>(
    req: &mut Request<B>,
    f: impl FnOnce(&str) -> Option<String>,
) -> Result<(), WriteError> {
    let Some(uri) = req.extensions().get::<OriginalUri>().map(|u| u.0.clone()) else {
        return Ok(());
    };
    let Some(path) = f(uri.path()) else {
        return Ok(());
    };
    // a URI path is never empty and, here, always absolute (compat mode can
    // produce WFront's relative `s/x`)
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    let pq = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = uri.into_parts();
    parts.path_and_query = Some(pq.try_into().map_err(|_| WriteError::Uri)?);
    let uri = Uri::from_parts(parts).map_err(|_| WriteError::Uri)?;
    OriginalUri::rewrite(req, uri);
    Ok(())
}

/// Removes `prefix` from the front of `value` when it ends on a segment boundary.
/// A trailing `/` of the prefix is not part of the match (`/a/` strips `/a`, leaving
/// `/b` of `/a/b`); an empty prefix strips nothing.
fn strip_segment_prefix(value: &str, prefix: &str) -> Option<String> {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        return None;
    }
    let rest = value.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then(|| rest.to_owned())
}

/// Removes the first occurrence of `needle` anywhere in `value`; an empty needle
/// changes nothing.
fn remove_first(value: &str, needle: &str) -> Option<String> {
    (!needle.is_empty())
        .then(|| value.find(needle))
        .flatten()
        .map(|at| [&value[..at], &value[at + needle.len()..]].concat())
}

fn reset_host<B>(req: &mut Request<B>, mode: Mode) -> Result<(), WriteError> {
    let Some(resolved) = req.extensions().get::<Resolved>() else {
        tracing::debug!("cleanup reset_host skipped: no Resolved extension");
        return Ok(());
    };
    let host = match mode {
        Mode::Strict => resolved.authority(),
        Mode::Wfront04 => {
            // WFront: split `host:port:path` at the first two colons; drop the port
            // when it is "80" or "443", whatever the scheme.
            let route = format!("{}:{}:{}", resolved.host, resolved.port, resolved.path);
            let mut it = route.splitn(3, ':');
            let host = it.next().unwrap_or("");
            let port = it.next().unwrap_or("");
            if port == "80" || port == "443" {
                host.to_owned()
            } else {
                format!("{host}:{port}")
            }
        }
    };
    target::write_host(req, host)
}

// === impl Display, Debug ===

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.op {
            Op::Copy { from, to } => write!(f, "copy {from} -> {to}"),
            Op::StripPrefix { target, prefix } => write!(f, "strip_prefix {target} {prefix:?}"),
            Op::RemoveFirst { target, needle } => {
                write!(f, "remove_first_substring {target} {needle:?}")
            }
            Op::Sub { target, regex } => write!(f, "sub {target} /{}/", regex.0.as_str()),
            Op::Template { target, template } => write!(f, "template {target} {template:?}"),
            Op::SetDefault { target, template } => {
                write!(f, "set_default {target} {template:?}")
            }
            Op::Remove { target } => write!(f, "remove {target}"),
            Op::Set { target, value } => match value {
                SetValue::Header(v) => write!(f, "set {target} {v:?}"),
                SetValue::Text(v) => write!(f, "set {target} {v:?}"),
                SetValue::Scheme(v) => write!(f, "set {target} {:?}", v.as_str()),
            },
            Op::ResetHost => f.write_str("reset_host"),
        }
    }
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_prefix_table() {
        let table = [
            ("/pony/powered", "/pony", Some("/powered")),
            ("/pony", "/pony", Some("")),
            ("/pony?x", "/pony", None),
            ("/ponyx", "/pony", None),
            ("/my/pony/x", "/pony", None),
            ("/a/b", "/a/", Some("/b")),
            ("/a", "", None),
            ("/a", "/", None),
        ];
        for (value, prefix, want) in table {
            assert_eq!(
                strip_segment_prefix(value, prefix).as_deref(),
                want,
                "{value} - {prefix}"
            );
        }
    }
}
