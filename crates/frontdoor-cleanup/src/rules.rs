//! The typed rule set and its evaluation.

use std::{borrow::Cow, fmt, sync::Arc};

use frontdoor_core::Resolved;
use http::{uri::Scheme, HeaderValue, Request, Uri};
use regex::Regex;

use crate::{
    error::{BuildError, BuildErrorKind},
    syntax::{self, Syntax},
    target::{self, Target, WriteError},
    template::{Template, TemplatePart},
};

// === Mode ===

pub use frontdoor_core::Mode;

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

// === Rule ===

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Strip {
    /// Resolved at build: prefix for path targets, anywhere otherwise.
    Auto,
    /// `strip_prefix`: anchored (anywhere in compat mode).
    Prefix,
    /// `remove_first_substring`: always anywhere.
    Anywhere,
}

#[derive(Clone)]
enum SetValue {
    Header(HeaderValue),
    Text(String),
    Scheme(Scheme),
}

#[derive(Clone)]
enum Op {
    Copy { from: Target, to: Target },
    StripPrefix { target: Target, prefix: String },
    RemoveFirst { target: Target, needle: String },
    Sub { target: Target, regex: Regex },
    Template { target: Target, template: Template },
    SetDefault { target: Target, template: Template },
    Remove { target: Target },
    Set { target: Target, value: SetValue },
    ResetHost,
}

/// One built rule. Its `Display` is the operation and its typed targets, e.g.
/// `strip_prefix path_info "/pony"`; [`Rules`]'s `Debug` lists them in evaluation
/// order.
#[derive(Clone)]
pub struct Rule {
    op: Op,
}

impl Rule {
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

    fn apply<B>(&self, req: &mut Request<B>, mode: Mode) {
        let strict = mode == Mode::Strict;
        let result = match &self.op {
            Op::Copy { from, to } => copy(req, from, to, strict),
            Op::StripPrefix { target, prefix } => {
                edit(req, target, strict, |v| strip_segment_prefix(v, prefix))
            }
            Op::RemoveFirst { target, needle } => edit(req, target, strict, |v| {
                (!needle.is_empty())
                    .then(|| v.find(needle.as_str()))
                    .flatten()
                    .map(|at| [&v[..at], &v[at + needle.len()..]].concat())
            }),
            Op::Sub { target, regex } => edit(req, target, strict, |v| {
                regex
                    .find(v)
                    .map(|m| [&v[..m.start()], &v[m.end()..]].concat())
            }),
            Op::Template { target, template } => {
                let value = render(req, target, template);
                target::write(req, target, value, strict)
            }
            Op::SetDefault { target, template } => {
                if target::read(req, target).is_some_and(|v| !v.is_empty()) {
                    Ok(())
                } else {
                    let value = render(req, target, template);
                    target::write(req, target, value, strict)
                }
            }
            Op::Remove { target } => target::remove(req, target),
            Op::Set { target, value } => match value {
                SetValue::Header(v) => {
                    if let Target::Header(name) = target {
                        req.headers_mut().insert(name.clone(), v.clone());
                    }
                    Ok(())
                }
                SetValue::Scheme(s) => target::write_scheme(req, s),
                SetValue::Text(s) => target::write(req, target, s.clone(), strict),
            },
            Op::ResetHost => reset_host(req, mode),
        };
        if let Err(e) = result {
            match e {
                WriteError::NoSchemeCarrier => {
                    tracing::debug!(rule = %self, reason = e.as_str(), "cleanup rule skipped");
                }
                _ => tracing::warn!(rule = %self, reason = e.as_str(), "cleanup rule skipped"),
            }
        }
    }
}

fn render<B>(req: &Request<B>, target: &Target, template: &Template) -> String {
    let own = target::read(req, target);
    template.render(own.as_deref(), |t| target::read(req, t))
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
        // act on the path, keep the query (and any scheme/authority) byte for byte
        let Some(uri) = req
            .extensions()
            .get::<frontdoor_core::OriginalUri>()
            .map(|u| u.0.clone())
        else {
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
        req.extensions_mut()
            .insert(frontdoor_core::OriginalUri(uri));
        return Ok(());
    }
    let Some(new) = target::read(req, target).and_then(|v| f(&v)) else {
        return Ok(());
    };
    target::write(req, target, new, strict)
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

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.op {
            Op::Copy { from, to } => write!(f, "copy {from} -> {to}"),
            Op::StripPrefix { target, prefix } => write!(f, "strip_prefix {target} {prefix:?}"),
            Op::RemoveFirst { target, needle } => {
                write!(f, "remove_first_substring {target} {needle:?}")
            }
            Op::Sub { target, regex } => write!(f, "sub {target} /{}/", regex.as_str()),
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

impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        match (&self.op, &other.op) {
            (
                Op::Sub {
                    target: a,
                    regex: r,
                },
                Op::Sub {
                    target: b,
                    regex: s,
                },
            ) => a == b && r.as_str() == s.as_str(),
            (
                Op::Set {
                    target: a,
                    value: v,
                },
                Op::Set {
                    target: b,
                    value: w,
                },
            ) => {
                a == b
                    && match (v, w) {
                        (SetValue::Header(x), SetValue::Header(y)) => x == y,
                        (SetValue::Text(x), SetValue::Text(y)) => x == y,
                        (SetValue::Scheme(x), SetValue::Scheme(y)) => x == y,
                        _ => false,
                    }
            }
            (Op::Copy { from: a, to: b }, Op::Copy { from: c, to: d }) => a == c && b == d,
            (
                Op::StripPrefix {
                    target: a,
                    prefix: p,
                },
                Op::StripPrefix {
                    target: b,
                    prefix: q,
                },
            )
            | (
                Op::RemoveFirst {
                    target: a,
                    needle: p,
                },
                Op::RemoveFirst {
                    target: b,
                    needle: q,
                },
            ) => a == b && p == q,
            (
                Op::Template {
                    target: a,
                    template: t,
                },
                Op::Template {
                    target: b,
                    template: u,
                },
            )
            | (
                Op::SetDefault {
                    target: a,
                    template: t,
                },
                Op::SetDefault {
                    target: b,
                    template: u,
                },
            ) => a == b && t == u,
            (Op::Remove { target: a }, Op::Remove { target: b }) => a == b,
            (Op::ResetHost, Op::ResetHost) => true,
            _ => false,
        }
    }
}

impl Eq for Rule {}

// === Rules ===

/// A built, validated rule set: the typed successor of WFront's `EnvironRewriter`.
///
/// Cheap to clone (the rules are shared). [`Rules::apply`] rewrites a request in
/// place; [`CleanupLayer`](crate::CleanupLayer) runs it in front of a service.
/// `Debug` lists the rules in evaluation order. See the [crate docs](crate).
#[derive(Clone, PartialEq, Eq)]
pub struct Rules {
    mode: Mode,
    rules: Arc<[Rule]>,
}

impl Rules {
    /// A builder for a rule set, in [`Mode::Strict`].
    pub fn builder() -> RulesBuilder {
        RulesBuilder::default()
    }

    /// Parses the `KEY: VALUE` text format in one syntax, strict mode. See
    /// [`RulesBuilder::text`].
    ///
    /// # Errors
    ///
    /// The first [`BuildError`], naming the offending rule.
    pub fn parse(syntax: Syntax, text: &str) -> Result<Self, BuildError> {
        Self::builder().text(syntax, text).build()
    }

    /// Builds from (key, value) pairs in one syntax, strict mode. See
    /// [`RulesBuilder::pairs`].
    ///
    /// # Errors
    ///
    /// The first [`BuildError`], naming the offending rule.
    pub fn from_pairs<I, K, V>(syntax: Syntax, pairs: I) -> Result<Self, BuildError>
    where
        I: IntoIterator<Item = (K, Option<V>)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Self::builder().pairs(syntax, pairs).build()
    }

    /// The semantics this set was built with.
    #[must_use]
    pub const fn mode(&self) -> Mode {
        self.mode
    }

    /// The rules in evaluation order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Rule> {
        self.rules.iter()
    }

    /// Whether the set has no rules.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Rewrites `req` in place, running every rule in evaluation order.
    ///
    /// Never fails and never panics: a rule whose result is invalid for its target
    /// (a header value with CR, LF or NUL, a path that does not fit a URI) is skipped
    /// with a `tracing` warning.
    pub fn apply<B>(&self, req: &mut Request<B>) {
        for rule in self.rules.iter() {
            rule.apply(req, self.mode);
        }
    }
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            mode: Mode::Strict,
            rules: Arc::new([]),
        }
    }
}

impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rules")
            .field("mode", &self.mode)
            .field("rules", &self.rules)
            .finish()
    }
}

// === RulesBuilder ===

enum Entry {
    Ready {
        name: String,
        op: PendingOp,
    },
    /// A text directive with no target: an error in strict mode, ignored in compat.
    NoTarget(String),
    Failed(BuildError),
}

enum PendingOp {
    Copy(Target, Target),
    Strip(Target, String, Strip),
    Sub(Target, Result<Regex, String>),
    Template(Target, Result<Template, BuildErrorKind>),
    SetDefault(Target, Result<Template, BuildErrorKind>),
    Remove(Target),
    Set(Target, String),
    ResetHost,
}

/// Builds a [`Rules`] set from typed operations, text, or both.
///
/// Methods record rules in the order called; errors (a bad regex, a malformed
/// template, a header value with CR/LF) are reported by [`RulesBuilder::build`],
/// naming the rule. Evaluation follows the fixed [`Category`] order regardless of the
/// order rules are added in.
#[must_use]
#[derive(Default)]
pub struct RulesBuilder {
    mode: Mode,
    entries: Vec<Entry>,
}

impl RulesBuilder {
    /// Sets the semantics (default [`Mode::Strict`]). Applies to every rule of the
    /// set, whenever it was added. What differs:
    ///
    /// | behaviour | [`Strict`](Mode::Strict) | [`Wfront04`](Mode::Wfront04) |
    /// |---|---|---|
    /// | `strip_prefix`, `strip_path`, `subtract` on a path target | anchored prefix on a segment boundary (`/pony` leaves `/my/pony/x` and `/ponyx` alone) | first occurrence anywhere (F27) |
    /// | `reset_host` port | omitted only when it is the scheme's default | omitted when `80` or `443`, whatever the scheme |
    /// | `reset_host` on IPv6 | `[::1]`, `[::1]:8080` | WFront's split at the first two colons: `[:` (F22) |
    /// | path info written without a leading `/` | skipped with a warning | written (URI path as given) |
    /// | a directive with no target (`wfront.copy = B`) | build error | ignored (F30) |
    ///
    /// Never emulated in either mode: WFront's plain-dict fast path that leaked literal
    /// `wfront.replace.*` keys (F18), request-time template errors (1.7.3), and values
    /// that are not valid header values.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Shorthand for `.mode(Mode::Wfront04)`: WFront 0.4 compatible semantics.
    pub fn wfront04_compat(self) -> Self {
        self.mode(Mode::Wfront04)
    }

    fn push(mut self, name: String, op: PendingOp) -> Self {
        self.entries.push(Entry::Ready { name, op });
        self
    }

    /// `copy`: when `from` is present, `to` gets its value (every value, byte for
    /// byte, from header to header).
    pub fn copy(self, from: impl Into<Target>, to: impl Into<Target>) -> Self {
        let (from, to) = (from.into(), to.into());
        self.push(format!("copy({from}, {to})"), PendingOp::Copy(from, to))
    }

    /// `subtract`: removes the first occurrence of `needle`. On a path target this is
    /// [`strip_prefix`](Self::strip_prefix) (anchored, segment boundary) in strict
    /// mode; use [`remove_first_substring`](Self::remove_first_substring) to remove it
    /// anywhere on purpose.
    pub fn subtract(self, target: impl Into<Target>, needle: impl Into<String>) -> Self {
        let target = target.into();
        self.push(
            format!("subtract({target})"),
            PendingOp::Strip(target, needle.into(), Strip::Auto),
        )
    }

    /// Removes the first occurrence of `needle` anywhere in the value, on any target
    /// (WFront's `subtract`, by its explicit name). An empty needle changes nothing.
    pub fn remove_first_substring(
        self,
        target: impl Into<Target>,
        needle: impl Into<String>,
    ) -> Self {
        let target = target.into();
        self.push(
            format!("remove_first_substring({target})"),
            PendingOp::Strip(target, needle.into(), Strip::Anywhere),
        )
    }

    /// Removes `prefix` from the front of the value when it ends on a segment
    /// boundary (`/pony` strips `/pony/x` to `/x` and `/pony` to `""`, but leaves
    /// `/ponyx` and `/my/pony/x` alone). In [`Mode::Wfront04`] it removes the first
    /// occurrence anywhere.
    pub fn strip_prefix(self, target: impl Into<Target>, prefix: impl Into<String>) -> Self {
        let target = target.into();
        self.push(
            format!("strip_prefix({target})"),
            PendingOp::Strip(target, prefix.into(), Strip::Prefix),
        )
    }

    /// WFront's `strip_path` macro: [`strip_prefix`](Self::strip_prefix) on the
    /// original URI, then the path info, then the script name.
    pub fn strip_path(self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        [Target::OriginalUri, Target::PathInfo, Target::ScriptName]
            .into_iter()
            .fold(self, |b, t| {
                b.push(
                    format!("strip_path({t})"),
                    PendingOp::Strip(t, prefix.clone(), Strip::Prefix),
                )
            })
    }

    /// `sub`: removes the first match of `pattern` (a [`regex`] search, not anchored
    /// unless the pattern says `^`).
    pub fn sub(self, target: impl Into<Target>, pattern: &str) -> Self {
        let target = target.into();
        let regex = Regex::new(pattern).map_err(|e| e.to_string());
        self.push(format!("sub({target})"), PendingOp::Sub(target, regex))
    }

    /// `sub` with an already compiled regex.
    pub fn sub_regex(self, target: impl Into<Target>, regex: Regex) -> Self {
        let target = target.into();
        self.push(format!("sub({target})"), PendingOp::Sub(target, Ok(regex)))
    }

    /// `template` (WFront's `sprintf`): always assigns the rendered [`Template`]
    /// text, creating the target if absent.
    pub fn template(self, target: impl Into<Target>, template: &str) -> Self {
        let target = target.into();
        let t = Template::parse(template);
        self.push(
            format!("template({target})"),
            PendingOp::Template(target, t),
        )
    }

    /// `template` with an already built [`Template`].
    pub fn template_parts(self, target: impl Into<Target>, template: Template) -> Self {
        let target = target.into();
        self.push(
            format!("template({target})"),
            PendingOp::Template(target, Ok(template)),
        )
    }

    /// `set_default`: assigns the rendered [`Template`] only when the target is absent
    /// or empty. A literal `%` is written `%%`.
    pub fn set_default(self, target: impl Into<Target>, template: &str) -> Self {
        let target = target.into();
        let t = Template::parse(template);
        self.push(
            format!("set_default({target})"),
            PendingOp::SetDefault(target, t),
        )
    }

    /// `remove`: removes the target (a path target becomes `""`).
    pub fn remove(self, target: impl Into<Target>) -> Self {
        let target = target.into();
        self.push(format!("remove({target})"), PendingOp::Remove(target))
    }

    /// `set` (WFront's `replace`): assigns a literal value, validated for its target
    /// when the set is built.
    pub fn set(self, target: impl Into<Target>, value: impl Into<String>) -> Self {
        let target = target.into();
        self.push(
            format!("set({target})"),
            PendingOp::Set(target, value.into()),
        )
    }

    /// `reset_host`: sets `Host` (and the authority of an absolute-form URI) from the
    /// [`Resolved`] extension, omitting the port only when it is the scheme's default
    /// and keeping IPv6 brackets. Skipped, with a debug event, when no resolver ran.
    pub fn reset_host(self) -> Self {
        self.push("reset_host".to_owned(), PendingOp::ResetHost)
    }

    /// Adds rules from (key, value) pairs in the verbose (`wfront.<directive>.<KEY>`)
    /// or shortcut syntax; see [`Syntax`]. `None` is Python's `None`.
    pub fn pairs<I, K, V>(mut self, syntax: Syntax, pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, Option<V>)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        for (key, value) in pairs {
            let (name, value) = (key.as_ref(), value.as_ref().map(AsRef::as_ref));
            let expanded;
            let key = match syntax {
                Syntax::Verbose => name,
                Syntax::Shortcut => {
                    expanded = syntax::expand_one(name, value);
                    expanded.as_str()
                }
            };
            self = syntax::parse_verbose(self, key, name, value);
        }
        self
    }

    /// Adds rules from the `KEY: VALUE` line format (see [`parse_lines`](crate::parse_lines))
    /// in one syntax. A malformed line is reported by [`build`](Self::build).
    pub fn text(mut self, syntax: Syntax, text: &str) -> Self {
        match syntax::parse_lines(text) {
            Ok(pairs) => self.pairs(syntax, pairs),
            Err(e) => {
                self.entries.push(Entry::Failed(e));
                self
            }
        }
    }

    pub(crate) fn fail(mut self, error: BuildError) -> Self {
        self.entries.push(Entry::Failed(error));
        self
    }

    pub(crate) fn no_target(mut self, rule: &str) -> Self {
        self.entries.push(Entry::NoTarget(rule.to_owned()));
        self
    }

    /// Renames the most recently added rule(s) for error messages.
    pub(crate) fn rename_last(mut self, count: usize, name: &str) -> Self {
        let len = self.entries.len();
        for entry in &mut self.entries[len.saturating_sub(count)..] {
            if let Entry::Ready { name: n, .. } = entry {
                name.clone_into(n);
            }
        }
        self
    }

    /// Validates every rule and fixes the evaluation order.
    ///
    /// # Errors
    ///
    /// The first invalid rule, as a [`BuildError`] naming it.
    pub fn build(self) -> Result<Rules, BuildError> {
        let mode = self.mode;
        let mut rules = Vec::with_capacity(self.entries.len());
        for entry in self.entries {
            match entry {
                Entry::Failed(e) => return Err(e),
                Entry::NoTarget(name) => {
                    if mode == Mode::Strict {
                        return Err(BuildError::new(name, BuildErrorKind::MissingTarget));
                    }
                }
                Entry::Ready { name, op } => {
                    let op = finish(op, mode).map_err(|k| BuildError::new(name, k))?;
                    rules.push(Rule { op });
                }
            }
        }
        rules.sort_by_key(Rule::category);
        Ok(Rules {
            mode,
            rules: rules.into(),
        })
    }
}

impl fmt::Debug for RulesBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RulesBuilder")
            .field("mode", &self.mode)
            .field("entries", &self.entries.len())
            .finish()
    }
}

fn finish(op: PendingOp, mode: Mode) -> Result<Op, BuildErrorKind> {
    let strict = mode == Mode::Strict;
    Ok(match op {
        PendingOp::Copy(from, to) => {
            from.validate()?;
            to.validate()?;
            Op::Copy { from, to }
        }
        PendingOp::Strip(target, needle, how) => {
            target.validate()?;
            let anchored = match how {
                Strip::Auto => strict && target.is_path(),
                Strip::Prefix => strict,
                Strip::Anywhere => false,
            };
            if anchored {
                Op::StripPrefix {
                    target,
                    prefix: needle,
                }
            } else {
                Op::RemoveFirst { target, needle }
            }
        }
        PendingOp::Sub(target, regex) => {
            target.validate()?;
            Op::Sub {
                target,
                regex: regex.map_err(BuildErrorKind::InvalidRegex)?,
            }
        }
        PendingOp::Template(target, template) => {
            target.validate()?;
            let template = template?;
            check_literals(&target, &template)?;
            Op::Template { target, template }
        }
        PendingOp::SetDefault(target, template) => {
            target.validate()?;
            let template = template?;
            check_literals(&target, &template)?;
            Op::SetDefault { target, template }
        }
        PendingOp::Remove(target) => {
            target.validate()?;
            if target == Target::Scheme {
                return Err(BuildErrorKind::Unsupported(
                    "the scheme cannot be removed; set it instead".to_owned(),
                ));
            }
            Op::Remove { target }
        }
        PendingOp::Set(target, value) => {
            target.validate()?;
            let value = literal_value(&target, value, strict)?;
            Op::Set { target, value }
        }
        PendingOp::ResetHost => Op::ResetHost,
    })
}

/// A header template whose literal text could never be a header value (CR, LF, NUL)
/// is a build error rather than a rule that is skipped on every request.
fn check_literals(target: &Target, template: &Template) -> Result<(), BuildErrorKind> {
    if let Target::Header(_) = target {
        for part in template.parts() {
            if let TemplatePart::Literal(text) = part {
                if HeaderValue::from_str(text).is_err() {
                    return Err(BuildErrorKind::InvalidValue(format!(
                        "template text {text:?} is not valid in a header value for {target}"
                    )));
                }
            }
        }
    }
    Ok(())
}

fn literal_value(target: &Target, value: String, strict: bool) -> Result<SetValue, BuildErrorKind> {
    let invalid = |why: &str| BuildErrorKind::InvalidValue(format!("{why} for {target}"));
    match target {
        Target::Header(_) => HeaderValue::try_from(value)
            .map(SetValue::Header)
            .map_err(|_| invalid("not a valid header value (CR, LF, NUL or control)")),
        Target::Scheme => target::parse_scheme(&value)
            .map(SetValue::Scheme)
            .ok_or_else(|| invalid("not a scheme (http, https, on, off)")),
        Target::OriginalUri => match Uri::try_from(value.as_str()) {
            Ok(_) => Ok(SetValue::Text(value)),
            Err(_) => Err(invalid("not a valid uri")),
        },
        Target::PathInfo if !target::valid_path_info(&value, strict) => Err(invalid(
            "not a valid path info (empty or starting with '/')",
        )),
        Target::PathInfo | Target::ScriptName | Target::Var(_) => Ok(SetValue::Text(value)),
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
