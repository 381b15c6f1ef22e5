//! Plan errors: each names its key path (`route[3].upstream`) and, once located in a
//! TOML text, its line; they are collected, not returned at the first.

use std::{error::Error as StdError, fmt, ops::Range};

// === PlanError ===

/// One problem in a description: `line 12: route[3].upstream: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanError {
    pub(crate) line: Option<usize>,
    pub(crate) path: String,
    message: String,
}

impl PlanError {
    /// An error at key `path` (empty for syntax errors and for errors about the whole
    /// text), on `line` (1-based) when known.
    #[must_use]
    pub fn new(line: Option<usize>, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            line,
            path: path.into(),
            message: message.into(),
        }
    }

    /// An error about the whole text (it cannot be read, backends cannot start).
    #[must_use]
    pub fn file(message: impl Into<String>) -> Self {
        Self::new(None, "", message)
    }

    /// The 1-based line, when known.
    #[must_use]
    pub const fn line(&self) -> Option<usize> {
        self.line
    }

    /// The key path, e.g. `route[3].spec`; empty for syntax errors.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong, without the line and path.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl StdError for PlanError {}

// === PlanErrors ===

/// Every problem found, in the order found (never empty).
///
/// `Display` writes one error per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanErrors(pub(crate) Vec<PlanError>);

impl PlanErrors {
    /// The errors.
    pub fn iter(&self) -> std::slice::Iter<'_, PlanError> {
        self.0.iter()
    }

    /// How many errors there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: there is at least one error.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The errors of a step that failed; `errors` must not be empty (an empty list
    /// becomes one error saying so).
    #[must_use]
    pub fn from_vec(mut errors: Vec<PlanError>) -> Self {
        if errors.is_empty() {
            errors.push(PlanError::file("failed without a reason"));
        }
        Self(errors)
    }
}

impl From<PlanError> for PlanErrors {
    fn from(error: PlanError) -> Self {
        Self(vec![error])
    }
}

impl IntoIterator for PlanErrors {
    type Item = PlanError;
    type IntoIter = std::vec::IntoIter<PlanError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a PlanErrors {
    type Item = &'a PlanError;
    type IntoIter = std::slice::Iter<'a, PlanError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for PlanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl StdError for PlanErrors {}

// === Errors ===

/// Collects errors and warnings during a check, each at a key path.
#[derive(Debug, Default)]
pub(crate) struct Errors {
    list: Vec<PlanError>,
    warnings: Vec<PlanError>,
}

impl Errors {
    /// Records an error at key `path`.
    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.list.push(PlanError::new(None, path, message));
    }

    /// Records a warning at key `path`: allowed, but probably not meant.
    pub(crate) fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(PlanError::new(None, path, message));
    }

    /// `result`'s value, or `None` with its message recorded at key `path`.
    pub(crate) fn check<T>(&mut self, path: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.push(path, message)).ok()
    }

    /// How many errors were recorded so far.
    pub(crate) fn count(&self) -> usize {
        self.list.len()
    }

    /// `Ok((value, warnings))` when no error was recorded, else every error.
    pub(crate) fn finish<T>(self, value: T) -> Result<(T, Vec<PlanError>), PlanErrors> {
        if self.list.is_empty() {
            Ok((value, self.warnings))
        } else {
            Err(PlanErrors(self.list))
        }
    }
}

/// The 1-based line where byte `at` of `text` is.
pub(crate) fn line_at(text: &str, at: usize) -> usize {
    let end = at.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The 1-based line where `span` starts.
pub(crate) fn line_of_span(text: &str, span: &Range<usize>) -> usize {
    line_at(text, span.start)
}
