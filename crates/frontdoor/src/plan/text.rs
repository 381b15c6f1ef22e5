//! The TOML text form of a [`Description`]: loading one, and finding the line of a
//! key path (`route[2].mirror.upstream`) in the text it came from, so that every
//! error names its line as well as its key.

use std::ops::Range;

use toml_edit::{ImDocument, Item, Table, TableLike, Value};

use super::{
    description::Description,
    error::{line_at, line_of_span, PlanError, PlanErrors},
};

/// A TOML text, parsed once to look up where each key path is.
pub struct Located<'a> {
    text: &'a str,
    doc: Option<ImDocument<&'a str>>,
}

impl std::fmt::Debug for Located<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Located").finish_non_exhaustive()
    }
}

/// One step of a key path.
enum Step {
    Key(String),
    Index(usize),
}

/// Where a walk along a key path is.
#[derive(Clone, Copy)]
enum Node<'d> {
    Item(&'d Item),
    Value(&'d Value),
    Table(&'d Table),
}

impl<'a> Located<'a> {
    /// `text`, parsed for lookups (a text that does not parse has no lines to give).
    #[must_use]
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            doc: ImDocument::parse(text).ok(),
        }
    }

    /// The text.
    #[must_use]
    pub const fn text(&self) -> &'a str {
        self.text
    }

    /// The 1-based line of the value at `path`; for a table (a `[[route]]`), the
    /// line of its `spec` or `regex`, else of its first key; for a key that is not
    /// there, the line of the deepest table on its path that is.
    #[must_use]
    pub fn line_of_path(&self, path: &str) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let mut node = Node::Table(doc.as_table());
        for step in steps(path)? {
            match child(node, &step) {
                Some(next) => node = next,
                None => break,
            }
        }
        self.span_of(node)
            .map(|span| line_of_span(self.text, &span))
    }

    /// The key path (`server.header_timeout`, `route[2].connect`) of the value of a
    /// table's key that holds byte `at`, looking in the top-level tables, the tables of
    /// top-level arrays (`[[route]]`) and their keys; `None` when no such value holds
    /// it.
    #[must_use]
    pub fn path_at(&self, at: usize) -> Option<String> {
        let doc = self.doc.as_ref()?;
        let holds = |item: &Item| item.span().is_some_and(|s| s.start <= at && at < s.end);
        let key_in = |table: &dyn TableLike| {
            table
                .iter()
                .find(|(_, value)| holds(value))
                .map(|(key, _)| key.to_owned())
        };
        doc.as_table().iter().find_map(|(name, item)| match item {
            Item::ArrayOfTables(tables) => tables
                .iter()
                .enumerate()
                .find_map(|(i, t)| key_in(t).map(|key| format!("{name}[{i}].{key}"))),
            _ => key_in(item.as_table_like()?).map(|key| format!("{name}.{key}")),
        })
    }

    /// The 1-based line where byte `at` is.
    #[must_use]
    pub fn line_at(&self, at: usize) -> usize {
        line_at(self.text, at)
    }

    fn span_of(&self, node: Node<'_>) -> Option<Range<usize>> {
        let table: Option<&dyn TableLike> = match node {
            Node::Table(t) => Some(t),
            Node::Item(i) => i.as_table_like(),
            Node::Value(v) => v.as_inline_table().map(|t| t as &dyn TableLike),
        };
        if let Some(table) = table {
            let named = ["spec", "regex"].into_iter().find_map(|k| table.get(k));
            if let Some(span) = named
                .or_else(|| table.iter().next().map(|(_, i)| i))
                .and_then(Item::span)
            {
                return Some(span);
            }
        }
        match node {
            Node::Table(t) => t.span(),
            Node::Item(i) => i.span(),
            Node::Value(v) => v.span(),
        }
    }
}

// === locating errors ===

impl PlanError {
    /// This error with the line of its key path in `text` (the TOML it was checked
    /// from), when it has none yet and the path is found there.
    #[must_use]
    pub fn located(mut self, text: &Located<'_>) -> Self {
        if self.line.is_none() && !self.path.is_empty() {
            self.line = text.line_of_path(&self.path);
        }
        self
    }
}

impl PlanErrors {
    /// Every error with the line of its key path in `text`, sorted by line (errors
    /// without one last).
    #[must_use]
    pub fn located(self, text: &Located<'_>) -> Self {
        let mut errors: Vec<PlanError> = self.0.into_iter().map(|e| e.located(text)).collect();
        errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
        Self(errors)
    }
}

fn child<'d>(node: Node<'d>, step: &Step) -> Option<Node<'d>> {
    match (node, step) {
        (Node::Table(t), Step::Key(k)) => t.get(k).map(Node::Item),
        (Node::Item(i), Step::Key(k)) => i.as_table_like()?.get(k).map(Node::Item),
        (Node::Value(v), Step::Key(k)) => v.as_inline_table()?.get(k).map(Node::Value),
        (Node::Item(Item::ArrayOfTables(a)), Step::Index(n)) => a.get(*n).map(Node::Table),
        (Node::Item(Item::Value(v)) | Node::Value(v), Step::Index(n)) => {
            v.as_array()?.get(*n).map(Node::Value)
        }
        _ => None,
    }
}

/// `route[2].cleanup."X-Y"` as steps; `None` for a path that is not one.
fn steps(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"')?;
            steps.push(Step::Key(quoted[..end].to_owned()));
            rest = &quoted[end + 1..];
        } else if let Some(index) = rest.strip_prefix('[') {
            let end = index.find(']')?;
            steps.push(Step::Index(index[..end].parse().ok()?));
            rest = &index[end + 1..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            steps.push(Step::Key(rest[..end].to_owned()));
            rest = &rest[end..];
        }
    }
    Some(steps)
}

/// Reads a description from TOML text: the syntax and the shape of each table
/// (unknown keys, wrong types) are checked here, the first problem reported with its
/// line; the values are checked by [`Description::check`].
pub(crate) fn from_toml(text: &str) -> Result<Description, PlanErrors> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of_span(text, &s));
        // A value of the wrong type names its key; syntax errors and unknown keys
        // (whose span is the key, not a value) have no path.
        let path = e
            .span()
            .and_then(|s| Located::new(text).path_at(s.start))
            .unwrap_or_default();
        PlanErrors::from(PlanError::new(
            line,
            path,
            e.message().trim_end().to_owned(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::Located;

    #[test]
    fn paths_find_their_lines() {
        let text = "[server]\nvia = false\n\n[[route]]\nupstream = \"http://a\"\nspec = \"::/a\"\n\n[[route]]\nspec = \"::/b\"\nupstream = [\n  \"http://b\",\n  \"http://c\",\n]\nmirror = { upstream = \"x\", sample = 2.0 }\n\n[resolve]\nlisteners = { \"127.0.0.1:80\" = \"x\" }\n";
        let at = Located::new(text);
        for (path, line) in [
            ("server.via", Some(2)),
            ("route[0]", Some(6)),
            ("route[0].upstream", Some(5)),
            ("route[0].missing", Some(6)),
            ("route[1].upstream[1]", Some(12)),
            ("route[1].mirror.sample", Some(14)),
            ("resolve.listeners.\"127.0.0.1:80\"", Some(17)),
        ] {
            assert_eq!(at.line_of_path(path), line, "{path}");
        }
        assert_eq!(Located::new("a = [").line_of_path("a"), None);
        let at = text.find("false").unwrap();
        assert_eq!(at_path(text, at).as_deref(), Some("server.via"));
        assert_eq!(at_path(text, 0), None);
        let at = text.find("\"::/b\"").unwrap();
        assert_eq!(at_path(text, at).as_deref(), Some("route[1].spec"));
    }

    fn at_path(text: &str, at: usize) -> Option<String> {
        Located::new(text).path_at(at)
    }
}
