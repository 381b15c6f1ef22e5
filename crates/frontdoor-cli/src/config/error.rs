//! Config errors: each names its line and key path, and they are collected, not
//! returned at the first.

use std::{error::Error as StdError, fmt, ops::Range};

// === ConfigError ===

/// One problem in a config file: `line 12: route[3].upstream: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    line: Option<usize>,
    path: String,
    message: String,
}

impl ConfigError {
    /// An error at `line` (1-based, when known) and key `path` (empty for syntax errors
    /// and for errors about the whole file).
    pub(crate) fn new(
        line: Option<usize>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            line,
            path: path.into(),
            message: message.into(),
        }
    }

    /// An error about the whole file (it cannot be read, backends cannot start).
    pub(crate) fn file(message: impl Into<String>) -> Self {
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

impl fmt::Display for ConfigError {
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

impl StdError for ConfigError {}

// === ConfigErrors ===

/// Every problem found in a config file, in file order (never empty).
///
/// `Display` writes one error per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    /// The errors.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
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

    /// The errors of a step that failed (so `errors` is not empty).
    pub(crate) fn from_vec(errors: Vec<ConfigError>) -> Self {
        debug_assert!(!errors.is_empty(), "a failed step reports why");
        Self(errors)
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        Self(vec![error])
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for ConfigErrors {
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

impl StdError for ConfigErrors {}

// === Errors ===

/// Collects errors during validation, turning TOML spans into line numbers.
pub(crate) struct Errors<'a> {
    src: &'a str,
    list: Vec<ConfigError>,
    warnings: Vec<ConfigError>,
}

impl<'a> Errors<'a> {
    pub(crate) const fn new(src: &'a str) -> Self {
        Self {
            src,
            list: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Records a warning at `span` (its line), key `path`: allowed, but probably
    /// not meant.
    pub(crate) fn warn(
        &mut self,
        span: Option<&Range<usize>>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        let line = span.map(|s| self.line_of(s));
        self.warnings.push(ConfigError::new(line, path, message));
    }

    /// The warnings recorded so far, leaving none.
    pub(crate) fn take_warnings(&mut self) -> Vec<ConfigError> {
        std::mem::take(&mut self.warnings)
    }

    /// The 1-based line where `span` starts.
    pub(crate) fn line_of(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.src.len());
        self.src.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// Records an error at `span` (its line), key `path`.
    pub(crate) fn push(
        &mut self,
        span: Option<&Range<usize>>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        let line = span.map(|s| self.line_of(s));
        self.list.push(ConfigError::new(line, path, message));
    }

    /// How many errors were recorded so far.
    pub(crate) fn count(&self) -> usize {
        self.list.len()
    }

    /// Every error recorded (call only after recording one).
    pub(crate) fn into_errors(self) -> ConfigErrors {
        ConfigErrors::from_vec(self.list)
    }

    /// `Ok(value)` when nothing was recorded, else every error.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, ConfigErrors> {
        if self.list.is_empty() {
            Ok(value)
        } else {
            Err(self.into_errors())
        }
    }
}
