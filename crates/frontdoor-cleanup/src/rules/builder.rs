//! The typed builder of a [`Rules`] set: records operations, validates them all at
//! [`build`](RulesBuilder::build), and fixes the evaluation order.

use std::fmt;

use frontdoor_core::Mode;
use http::{HeaderValue, Uri};
use regex::Regex;

use super::{
    rule::{Op, Pattern, Rule, SetValue},
    Rules,
};
use crate::{
    error::{CleanupError, CleanupErrorKind},
    target::{self, Target},
    template::{Template, TemplatePart},
};

// === pending entries ===

/// How a `subtract`-family rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Strip {
    /// Resolved at build: prefix for path targets, anywhere otherwise.
    Auto,
    /// `strip_prefix`: anchored (anywhere in compat mode).
    Prefix,
    /// `remove_first_substring`: always anywhere.
    Anywhere,
}

/// A rule as recorded, before validation.
enum PendingOp {
    Copy(Target, Target),
    Strip(Target, String, Strip),
    Sub(Target, Result<Regex, String>),
    Template(Target, Result<Template, CleanupErrorKind>),
    SetDefault(Target, Result<Template, CleanupErrorKind>),
    Remove(Target),
    Set(Target, String),
    ResetHost,
}

enum Entry {
    Ready {
        name: String,
        op: PendingOp,
    },
    /// A directive with no target: an error in strict mode, ignored in compat.
    NoTarget(String),
    Failed(CleanupError),
}

// === RulesBuilder ===

/// Builds a [`Rules`] set from typed operations (or from WFront text, see
/// [`RulesBuilder::text`]).
///
/// Methods record rules in the order called; errors (a bad regex, a malformed
/// template, a header value with CR/LF) are reported by [`RulesBuilder::build`],
/// naming the rule. Evaluation follows the fixed [`Category`](crate::Category) order
/// regardless of the order rules are added in.
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
        let needle = needle.into();
        self.add("subtract", target, |t| {
            PendingOp::Strip(t, needle, Strip::Auto)
        })
    }

    /// Removes the first occurrence of `needle` anywhere in the value, on any target
    /// (WFront's `subtract`, by its explicit name). An empty needle changes nothing.
    pub fn remove_first_substring(
        self,
        target: impl Into<Target>,
        needle: impl Into<String>,
    ) -> Self {
        let needle = needle.into();
        self.add("remove_first_substring", target, |t| {
            PendingOp::Strip(t, needle, Strip::Anywhere)
        })
    }

    /// Removes `prefix` from the front of the value when it ends on a segment
    /// boundary (`/pony` strips `/pony/x` to `/x` and `/pony` to `""`, but leaves
    /// `/ponyx` and `/my/pony/x` alone). In [`Mode::Wfront04`] it removes the first
    /// occurrence anywhere.
    pub fn strip_prefix(self, target: impl Into<Target>, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        self.add("strip_prefix", target, |t| {
            PendingOp::Strip(t, prefix, Strip::Prefix)
        })
    }

    /// WFront's `strip_path` macro: [`strip_prefix`](Self::strip_prefix) on the
    /// original URI, then the path info, then the script name.
    pub fn strip_path(self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        [Target::OriginalUri, Target::PathInfo, Target::ScriptName]
            .into_iter()
            .fold(self, |b, target| {
                b.add("strip_path", target, |t| {
                    PendingOp::Strip(t, prefix.clone(), Strip::Prefix)
                })
            })
    }

    /// `sub`: removes the first match of `pattern` (a [`regex`] search, not anchored
    /// unless the pattern says `^`).
    pub fn sub(self, target: impl Into<Target>, pattern: &str) -> Self {
        let regex = Regex::new(pattern).map_err(|e| e.to_string());
        self.add("sub", target, |t| PendingOp::Sub(t, regex))
    }

    /// `sub` with an already compiled regex.
    pub fn sub_regex(self, target: impl Into<Target>, regex: Regex) -> Self {
        self.add("sub", target, |t| PendingOp::Sub(t, Ok(regex)))
    }

    /// `template` (WFront's `sprintf`): always assigns the rendered [`Template`]
    /// text, creating the target if absent.
    pub fn template(self, target: impl Into<Target>, template: &str) -> Self {
        let template = Template::parse(template);
        self.add("template", target, |t| PendingOp::Template(t, template))
    }

    /// `template` with an already built [`Template`].
    pub fn template_parts(self, target: impl Into<Target>, template: Template) -> Self {
        self.add("template", target, |t| PendingOp::Template(t, Ok(template)))
    }

    /// `set_default`: assigns the rendered [`Template`] only when the target is absent
    /// or empty. A literal `%` is written `%%`.
    pub fn set_default(self, target: impl Into<Target>, template: &str) -> Self {
        let template = Template::parse(template);
        self.add("set_default", target, |t| {
            PendingOp::SetDefault(t, template)
        })
    }

    /// `remove`: removes the target (a path target becomes `""`).
    pub fn remove(self, target: impl Into<Target>) -> Self {
        self.add("remove", target, PendingOp::Remove)
    }

    /// `set` (WFront's `replace`): assigns a literal value, validated for its target
    /// when the set is built.
    pub fn set(self, target: impl Into<Target>, value: impl Into<String>) -> Self {
        let value = value.into();
        self.add("set", target, |t| PendingOp::Set(t, value))
    }

    /// `reset_host`: sets `Host` (and the authority of an absolute-form URI) from the
    /// [`Resolved`](frontdoor_core::Resolved) extension, omitting the port only when
    /// it is the scheme's default and keeping IPv6 brackets. Skipped, with a debug
    /// event, when no resolver ran.
    pub fn reset_host(self) -> Self {
        self.push("reset_host".to_owned(), PendingOp::ResetHost)
    }

    /// Validates every rule and fixes the evaluation order.
    ///
    /// # Errors
    ///
    /// The first invalid rule, as a [`CleanupError`] naming it.
    pub fn build(self) -> Result<Rules, CleanupError> {
        let mode = self.mode;
        let mut rules = Vec::with_capacity(self.entries.len());
        for entry in self.entries {
            match entry {
                Entry::Failed(e) => return Err(e),
                Entry::NoTarget(name) => {
                    if mode == Mode::Strict {
                        return Err(CleanupError::new(name, CleanupErrorKind::MissingTarget));
                    }
                }
                Entry::Ready { name, op } => {
                    let op = finish(op, mode).map_err(|k| CleanupError::new(name, k))?;
                    rules.push(Rule::new(op));
                }
            }
        }
        rules.sort_by_key(Rule::category);
        Ok(Rules {
            mode,
            rules: rules.into(),
        })
    }

    // --- recording ---

    fn push(mut self, name: String, op: PendingOp) -> Self {
        self.entries.push(Entry::Ready { name, op });
        self
    }

    /// Records a one-target rule named `method(target)`.
    fn add(
        self,
        method: &str,
        target: impl Into<Target>,
        op: impl FnOnce(Target) -> PendingOp,
    ) -> Self {
        let target = target.into();
        self.push(format!("{method}({target})"), op(target))
    }

    // --- hooks for front ends that name rules their own way (the text syntaxes) ---

    /// Records an error to report from [`build`](Self::build).
    pub(crate) fn fail(mut self, error: CleanupError) -> Self {
        self.entries.push(Entry::Failed(error));
        self
    }

    /// Records a directive that was given no target: a
    /// [`MissingTarget`](CleanupErrorKind::MissingTarget) error in strict mode,
    /// nothing in compat mode.
    pub(crate) fn missing_target(mut self, rule: &str) -> Self {
        self.entries.push(Entry::NoTarget(rule.to_owned()));
        self
    }

    /// Adds rules with `add`, naming every rule it added `name` in errors.
    pub(crate) fn named(self, name: &str, add: impl FnOnce(Self) -> Self) -> Self {
        let before = self.entries.len();
        let mut this = add(self);
        for entry in this.entries.iter_mut().skip(before) {
            if let Entry::Ready { name: n, .. } = entry {
                name.clone_into(n);
            }
        }
        this
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

// === validation ===

fn finish(op: PendingOp, mode: Mode) -> Result<Op, CleanupErrorKind> {
    let strict = mode == Mode::Strict;
    Ok(match op {
        PendingOp::Copy(from, to) => {
            from.validate()?;
            to.validate()?;
            Op::Copy { from, to }
        }
        PendingOp::Strip(target, needle, how) => {
            target.validate()?;
            strip_op(target, needle, how, strict)
        }
        PendingOp::Sub(target, regex) => {
            target.validate()?;
            let regex = Pattern(regex.map_err(CleanupErrorKind::InvalidRegex)?);
            Op::Sub { target, regex }
        }
        PendingOp::Template(target, template) => {
            let template = checked_template(&target, template)?;
            Op::Template { target, template }
        }
        PendingOp::SetDefault(target, template) => {
            let template = checked_template(&target, template)?;
            Op::SetDefault { target, template }
        }
        PendingOp::Remove(target) => {
            target.validate()?;
            if target == Target::Scheme {
                return Err(CleanupErrorKind::Unsupported(
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

/// Whether a `subtract`-family rule is anchored depends on the mode and the target.
fn strip_op(target: Target, needle: String, how: Strip, strict: bool) -> Op {
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

/// The template of a `template` or `set_default` rule, checked against its target.
fn checked_template(
    target: &Target,
    template: Result<Template, CleanupErrorKind>,
) -> Result<Template, CleanupErrorKind> {
    target.validate()?;
    let template = template?;
    check_literals(target, &template)?;
    Ok(template)
}

/// A header template whose literal text could never be a header value (CR, LF, NUL)
/// is a build error rather than a rule that is skipped on every request.
fn check_literals(target: &Target, template: &Template) -> Result<(), CleanupErrorKind> {
    if let Target::Header(_) = target {
        for part in template.parts() {
            if let TemplatePart::Literal(text) = part {
                if HeaderValue::from_str(text).is_err() {
                    return Err(CleanupErrorKind::InvalidValue(format!(
                        "template text {text:?} is not valid in a header value for {target}"
                    )));
                }
            }
        }
    }
    Ok(())
}

fn literal_value(
    target: &Target,
    value: String,
    strict: bool,
) -> Result<SetValue, CleanupErrorKind> {
    let invalid = |why: &str| CleanupErrorKind::InvalidValue(format!("{why} for {target}"));
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
