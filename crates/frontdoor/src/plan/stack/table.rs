//! The route table as `frontdoor routes` and the admin `/routes` print it.

use std::fmt::Write as _;

/// One row of the route table.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Row {
    /// The route's position (`0`, `1`, ...), or `-` for the default or the miss answer.
    pub index: String,
    /// The route's label in metrics and access lines: its `name`, else `route[N]`;
    /// `default` or `not_found`.
    pub name: String,
    /// The spec, `regex ...`, `(default)` or `(not found)`.
    pub matcher: String,
    /// The upstreams, or the miss answer's status and body.
    pub upstream: String,
    /// The relocation profile.
    pub relocate: String,
    /// The cleanup filter's rules, or `-`.
    pub filter: String,
    /// The mirror (shadow upstream and its settings), or `-`.
    pub mirror: String,
}

impl Row {
    fn cells(&self) -> [&str; 7] {
        [
            &self.index,
            &self.name,
            &self.matcher,
            &self.upstream,
            &self.relocate,
            &self.filter,
            &self.mirror,
        ]
    }
}

/// The rows as aligned text under a header line, without a final newline.
pub(crate) fn render(rows: &[Row]) -> String {
    const HEADER: [&str; 7] = [
        "index", "name", "spec", "upstream", "relocate", "filter", "mirror",
    ];
    let mut widths = HEADER.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row.cells()) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for cells in std::iter::once(HEADER).chain(rows.iter().map(Row::cells)) {
        // Every column but the last is padded to its width.
        let (last, padded) = cells.split_last().unwrap_or((&"", &[]));
        for (cell, width) in padded.iter().zip(widths) {
            let _ = write!(out, "{cell:<width$}  ");
        }
        out.push_str(last);
        out.push('\n');
    }
    out.pop();
    out
}
