//! The scheme-label table shared by the by-scheme resolver and the router.

use std::{collections::BTreeMap, fmt, sync::Arc};

/// Maps scheme labels (`http`, `https`, or any name) to the ports they cover.
///
/// WFront's `by_scheme(schemes={'http': (80, 8000, 8001)})`: a route spec may say
/// `www.example.com:http:/` and match a request to any of the label's ports. The
/// default table is `http` = {80}, `https` = {443}. Cheap to clone.
///
/// ```
/// use frontdoor_core::Schemes;
///
/// let schemes = Schemes::new().with("http", [80, 8000, 8001]);
/// assert_eq!(schemes.ports("http"), Some(&[80, 8000, 8001][..]));
/// assert_eq!(schemes.label_of(8000), Some("http"));
/// assert_eq!(schemes.label_of(443), Some("https"));
/// assert_eq!(schemes.ports("gopher"), None);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Schemes {
    table: Arc<BTreeMap<String, Vec<u16>>>,
}

impl Schemes {
    /// The default table: `http` = {80}, `https` = {443}.
    #[must_use]
    pub fn new() -> Self {
        Self::empty().with("http", [80]).with("https", [443])
    }

    /// A table with no labels.
    #[must_use]
    pub fn empty() -> Self {
        Self {
            table: Arc::new(BTreeMap::new()),
        }
    }

    /// Sets (replaces) the ports of `label`. Labels are case-insensitive (stored
    /// lowercase).
    #[must_use]
    pub fn with(mut self, label: &str, ports: impl IntoIterator<Item = u16>) -> Self {
        let mut ports: Vec<u16> = ports.into_iter().collect();
        ports.sort_unstable();
        ports.dedup();
        Arc::make_mut(&mut self.table).insert(label.to_ascii_lowercase(), ports);
        self
    }

    /// The ports of `label` (case-insensitive), sorted.
    #[must_use]
    pub fn ports(&self, label: &str) -> Option<&[u16]> {
        self.table
            .get(label)
            .or_else(|| self.table.get(&label.to_ascii_lowercase()))
            .map(Vec::as_slice)
    }

    /// The first label (in name order) whose ports include `port`.
    #[must_use]
    pub fn label_of(&self, port: u16) -> Option<&str> {
        self.table
            .iter()
            .find(|(_, ports)| ports.binary_search(&port).is_ok())
            .map(|(label, _)| label.as_str())
    }

    /// Iterates `(label, ports)` in label order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u16])> {
        self.table.iter().map(|(l, p)| (l.as_str(), p.as_slice()))
    }
}

impl Default for Schemes {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Schemes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_overrides() {
        let s = Schemes::default();
        assert_eq!(s.ports("http"), Some(&[80][..]));
        assert_eq!(s.ports("HTTPS"), Some(&[443][..]));
        let s = s.with("HTTP", [8001, 80, 8000, 80]);
        assert_eq!(s.ports("http"), Some(&[80, 8000, 8001][..]));
        assert_eq!(s.label_of(8001), Some("http"));
        assert_eq!(s.label_of(9), None);
        assert_eq!(
            format!("{s:?}"),
            r#"{"http": [80, 8000, 8001], "https": [443]}"#
        );
        assert!(Schemes::empty().iter().next().is_none());
    }
}
