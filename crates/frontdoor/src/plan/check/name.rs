//! A `[[route]]`'s `name`: its label in metrics, access lines and the route table,
//! instead of `route[N]`, so the label stays when a reload moves the route.

use std::collections::HashMap;

use crate::plan::{description as d, error::Errors};

/// The labels of the routes that are not `[[route]]`s: the `[default]`'s and the
/// miss answer's.
const RESERVED: [(&str, &str); 2] = [
    ("default", "the [default]"),
    ("not_found", "the [not_found] answer"),
];

/// The names seen so far, for uniqueness: each with the route that has it.
#[derive(Debug, Default)]
pub(super) struct Names<'a> {
    first: HashMap<&'a str, usize>,
}

impl<'a> Names<'a> {
    /// The name of `route[index]` (`None` without one, or with one that is not
    /// valid), a problem recorded at `route[N].name`: a name is letters, digits, `-`,
    /// `_` and `.`, unique among the routes, and not a label the plan gives
    /// (`default`, `not_found`).
    pub(super) fn check(
        &mut self,
        index: usize,
        route: &'a d::Route,
        errors: &mut Errors,
    ) -> Option<String> {
        let name = route.name.as_deref()?;
        let key = format!("route[{index}].name");
        if !valid(name) {
            errors.push(
                key,
                format!("a name is one or more letters, digits, '-', '_' or '.', got {name:?}"),
            );
            return None;
        }
        if let Some((_, what)) = RESERVED.iter().find(|(label, _)| *label == name) {
            errors.push(key, format!("{name:?} is the label of {what}"));
            return None;
        }
        if let Some(earlier) = self.first.get(name) {
            errors.push(
                key,
                format!("{name:?} is already the name of route[{earlier}]"),
            );
            return None;
        }
        self.first.insert(name, index);
        Some(name.to_owned())
    }
}

/// The `[default]` takes no name: it is named `default`.
pub(super) fn default(raw: &d::Route, errors: &mut Errors) {
    if raw.name.is_some() {
        errors.push(
            "default.name",
            "unknown field `name`: the [default] is named \"default\"",
        );
    }
}

/// One or more letters, digits, `-`, `_` and `.`.
fn valid(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}
