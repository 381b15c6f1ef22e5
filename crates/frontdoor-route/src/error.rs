//! The build error: every invalid table fails at construction, naming the spec.

use std::fmt;

/// Why a route table could not be built.
///
/// `Display` names the route (its 0-based position), the spec as written and the
/// reason, e.g. `route 2 "h:gopher": port "gopher" is neither a number, '*' nor a
/// scheme label (known labels: http, https)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteError {
    kind: RouteErrorKind,
    index: Option<usize>,
    spec: String,
    reason: String,
}

/// The kind of a [`RouteError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteErrorKind {
    /// The spec does not parse (bad field, unknown label or macro, bad regex).
    InvalidSpec,
    /// The spec normalises to the same matcher as an earlier route, so it could never
    /// be selected (a dead route).
    Duplicate,
    /// The table as a whole is too large for the regex engine's limits.
    TooLarge,
    /// [`RouterBuilder::into_layer`](crate::RouterBuilder::into_layer) on a builder
    /// that has a fallback: the layer's inner service is the fallback, so the
    /// builder's would be silently ignored.
    FallbackConflict,
}

impl RouteError {
    pub(crate) fn invalid(index: usize, spec: String, reason: String) -> Self {
        Self {
            kind: RouteErrorKind::InvalidSpec,
            index: Some(index),
            spec,
            reason,
        }
    }

    pub(crate) fn duplicate(index: usize, spec: String, first: usize, shown: &str) -> Self {
        Self {
            kind: RouteErrorKind::Duplicate,
            index: Some(index),
            spec,
            reason: format!(
                "duplicates route {first} (both normalise to {shown:?}); it could never match"
            ),
        }
    }

    pub(crate) fn fallback_conflict() -> Self {
        Self {
            kind: RouteErrorKind::FallbackConflict,
            index: None,
            spec: String::new(),
            reason: "a fallback is set, but into_layer() makes the wrapped service the \
                     fallback; use build() to keep the builder's fallback, or drop it"
                .to_owned(),
        }
    }

    pub(crate) fn too_large(reason: String) -> Self {
        Self {
            kind: RouteErrorKind::TooLarge,
            index: None,
            spec: String::new(),
            reason,
        }
    }

    /// The kind of error.
    #[must_use]
    pub const fn kind(&self) -> RouteErrorKind {
        self.kind
    }

    /// The 0-based position of the offending route, when one route is at fault.
    #[must_use]
    pub const fn index(&self) -> Option<usize> {
        self.index
    }

    /// The offending spec as written (empty when no single route is at fault).
    #[must_use]
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// The reason, without the spec.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "route {i} {:?}: {}", self.spec, self.reason),
            None => write!(f, "route table: {}", self.reason),
        }
    }
}

impl std::error::Error for RouteError {}
