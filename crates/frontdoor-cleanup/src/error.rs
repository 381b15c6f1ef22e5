//! Build-time errors of a rule set.

use std::fmt;

/// Why a rule could not be built. See [`CleanupError`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CleanupErrorKind {
    /// A `wfront.<directive>` that does not exist (WFront's `NotImplementedError`).
    UnknownDirective(String),
    /// A directive that needs a target key was given none (`wfront.copy = B`).
    MissingTarget,
    /// A directive that needs a value was given `None`.
    MissingValue,
    /// The target cannot be named: an empty key, or a header name that is not a
    /// valid HTTP field name.
    InvalidTarget(String),
    /// The regex of a `sub` rule does not compile.
    InvalidRegex(String),
    /// The template is malformed: an unmatched `%`, an unclosed `%(`, a conversion
    /// other than `s`, or a second self placeholder.
    InvalidTemplate(String),
    /// A literal value is not valid for its target (a header value with CR, LF or
    /// NUL, an unknown scheme, an invalid URI or path).
    InvalidValue(String),
    /// The operation makes no sense for the target (removing the scheme).
    Unsupported(String),
    /// A line of the text format is not `KEY: VALUE`.
    Syntax(String),
}

impl fmt::Display for CleanupErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownDirective(d) => write!(f, "unknown directive {d:?}"),
            Self::MissingTarget => f.write_str("directive has no target key"),
            Self::MissingValue => f.write_str("directive needs a value, got None"),
            Self::InvalidTarget(why) => write!(f, "invalid target: {why}"),
            Self::InvalidRegex(why) => write!(f, "invalid regex: {why}"),
            Self::InvalidTemplate(why) => write!(f, "invalid template: {why}"),
            Self::InvalidValue(why) => write!(f, "invalid value: {why}"),
            Self::Unsupported(why) => write!(f, "unsupported: {why}"),
            Self::Syntax(why) => write!(f, "syntax error: {why}"),
        }
    }
}

/// A rule set failed to build. Names the offending rule: its key as written in the
/// text syntaxes (`wfront.sub.A`, `~A`, `line 3`), or the operation and target for
/// rules built in code (`sub(var:A)`).
///
/// ```
/// use frontdoor_cleanup::{CleanupErrorKind, Rules, Syntax};
///
/// let err = Rules::parse(Syntax::Verbose, "wfront.bogus: 1").unwrap_err();
/// assert_eq!(err.rule(), "wfront.bogus");
/// assert!(matches!(err.kind(), CleanupErrorKind::UnknownDirective(d) if d == "bogus"));
/// assert_eq!(err.to_string(), r#"cleanup rule "wfront.bogus": unknown directive "bogus""#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanupError {
    rule: String,
    kind: CleanupErrorKind,
}

impl CleanupError {
    pub(crate) fn new(rule: impl Into<String>, kind: CleanupErrorKind) -> Self {
        Self {
            rule: rule.into(),
            kind,
        }
    }

    /// The offending rule, as written.
    #[must_use]
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// What is wrong with it.
    #[must_use]
    pub fn kind(&self) -> &CleanupErrorKind {
        &self.kind
    }
}

impl fmt::Display for CleanupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cleanup rule {:?}: {}", self.rule, self.kind)
    }
}

impl std::error::Error for CleanupError {}
