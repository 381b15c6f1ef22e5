//! How the body rewriters move a URL: one direction of a relocation, and the
//! whitespace kept around a moved URL.

use std::sync::Arc;

use crate::relocation::{Direction, Relocation};

// === impl Mapper ===

/// One direction of a relocation, as the body rewriters apply it to URLs (no base:
/// relative references in bodies resolve correctly on their own).
#[derive(Clone, Debug)]
pub(crate) struct Mapper {
    relocation: Arc<Relocation>,
    dir: Direction,
}

impl Mapper {
    pub(crate) const fn new(relocation: Arc<Relocation>, dir: Direction) -> Self {
        Self { relocation, dir }
    }

    /// The moved URL, when `url` is ours and moving it changes it.
    pub(crate) fn map(&self, url: &str) -> Option<String> {
        self.relocation
            .map(self.dir, url, None)
            .ok()
            .flatten()
            .filter(|new| new != url)
    }
}

/// `text` with `url`'s leading and trailing whitespace (per `is_ws`) kept around
/// `new`, which `escape` has escaped.
pub(crate) fn keep_padding(text: &str, new: &str, is_ws: fn(char) -> bool) -> String {
    let lead = &text[..text.len() - text.trim_start_matches(is_ws).len()];
    let trail = &text[text.trim_end_matches(is_ws).len()..];
    let mut out = String::with_capacity(lead.len() + new.len() + trail.len());
    out.push_str(lead);
    out.push_str(new);
    out.push_str(trail);
    out
}
