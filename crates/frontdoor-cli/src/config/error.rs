//! Config errors: each names its line and key path, and they are collected, not
//! returned at the first. They are the plan's errors ([`PlanError`]): the route tables
//! are checked by [`frontdoor::plan`], the rest of the file here.

use std::ops::Range;

pub use frontdoor::plan::{PlanError as ConfigError, PlanErrors as ConfigErrors};

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

    /// Records an error on `line`, key `path`.
    pub(crate) fn push_at(
        &mut self,
        line: Option<usize>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.list.push(ConfigError::new(line, path, message));
    }

    /// Adds errors found elsewhere (with their lines).
    pub(crate) fn extend(&mut self, errors: impl IntoIterator<Item = ConfigError>) {
        self.list.extend(errors);
    }

    /// Adds warnings found elsewhere (with their lines).
    pub(crate) fn extend_warnings(&mut self, warnings: impl IntoIterator<Item = ConfigError>) {
        self.warnings.extend(warnings);
    }

    /// Every error recorded, in line order (call only after recording one).
    pub(crate) fn into_errors(mut self) -> ConfigErrors {
        self.list.sort_by_key(|e| e.line().unwrap_or(usize::MAX));
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
