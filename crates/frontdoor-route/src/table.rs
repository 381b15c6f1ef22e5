//! The pure matching core: a compiled route table and its index. No I/O, no HTTP.
//!
//! A [`Table`] is compiled once from an ordered list of [`RouteSpec`]s. Matching takes
//! a [`Target`] (host, port, label, path) and returns the **first** route of the table
//! that matches, exactly as a linear scan would ([`Table::find_linear`] is that scan,
//! kept for tests and benches), but without scanning:
//!
//! * exact hosts sit in a hash map, wildcard hosts in a trie of reversed labels, and
//!   "any host" routes in one bucket;
//! * inside each host bucket, paths sit in a trie of segments: a route is stored at
//!   the node of its literal prefix (glob paths at the node of their literal leading
//!   segments);
//! * all regex specs run as one [`regex::RegexSet`].
//!
//! The index only selects candidates; each candidate is confirmed with the same
//! matcher the linear scan uses, and the lowest table index wins, so precedence is
//! the table order. The cost of a lookup depends on the number of host labels and
//! path segments of the request, not on the size of the table.
//!
//! ```
//! use frontdoor_core::Schemes;
//! use frontdoor_route::{Consume, Mode, RouteSpec, Table, Target};
//!
//! let table = Table::compile(
//!     ["www.example.com::/svn", "*.example.com", "::/static"].map(RouteSpec::from),
//!     Mode::Strict,
//!     &Schemes::new(),
//! )?;
//! let hit = table.find(&Target::new("www.example.com", 80, "/svn/trunk")).unwrap();
//! assert_eq!((hit.index, hit.consume), (0, Consume::Prefix(4)));
//! let hit = table.find(&Target::new("cdn.example.com", 443, "/static/a.css")).unwrap();
//! assert_eq!(hit.index, 1);
//! assert!(table.find(&Target::new("example.com", 80, "/staticx")).is_none());
//! assert_eq!(table.dump(), ["www.example.com:*:/svn", "*.example.com:*:*", "*:*:/static"]);
//! # Ok::<(), frontdoor_route::RouteError>(())
//! ```

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use frontdoor_core::Schemes;
use regex::RegexSet;

use crate::{
    spec::{compile_regex, expand_macros, invalid, parse_strict, HostPat, RegexSpec, StrictSpec},
    wfront::compile_wfront,
    Mode, RouteError, RouteSpec,
};

// === Target / Match ===

/// What a request is matched on.
///
/// In [`Mode::Strict`] the host must already be normalised (ASCII lowercase, no
/// trailing dot; empty when the request has none) and the path canonical (see
/// [`frontdoor_core::canonicalize`]). In [`Mode::Wfront04`] both are used verbatim and
/// the match subject is `host:port:script_name + path`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target<'a> {
    /// The host (empty when the request has none).
    pub host: &'a str,
    /// The port.
    pub port: u16,
    /// The by-scheme label of the port, shown in place of the port to regex specs.
    pub label: Option<&'a str>,
    /// The path info: the part of the path not consumed yet.
    pub path: &'a str,
    /// The script name: the part consumed by outer routers (compat mode only).
    pub script_name: &'a str,
}

impl<'a> Target<'a> {
    /// A target with no label and an empty script name.
    #[must_use]
    pub const fn new(host: &'a str, port: u16, path: &'a str) -> Self {
        Self {
            host,
            port,
            label: None,
            path,
            script_name: "",
        }
    }

    /// Sets the by-scheme label.
    #[must_use]
    pub const fn with_label(mut self, label: Option<&'a str>) -> Self {
        self.label = label;
        self
    }

    /// Sets the script name (only [`Mode::Wfront04`] matches on it).
    #[must_use]
    pub const fn with_script_name(mut self, script_name: &'a str) -> Self {
        self.script_name = script_name;
        self
    }

    /// The `host:port:path` string regex specs match (the label replaces the port
    /// when set).
    #[must_use]
    pub fn subject(&self) -> String {
        // Built directly: it is built for every request that reaches a regex spec.
        let mut port = itoa::Buffer::new();
        let middle = match self.label {
            Some(l) => l,
            None => port.format(self.port),
        };
        let mut out = String::with_capacity(self.host.len() + middle.len() + self.path.len() + 2);
        for part in [self.host, ":", middle, ":", self.path] {
            out.push_str(part);
        }
        out
    }

    fn compat_subject(&self) -> String {
        format!(
            "{}:{}:{}{}",
            self.host, self.port, self.script_name, self.path
        )
    }
}

/// What a match consumes from the path info.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Consume {
    /// Nothing.
    Nothing,
    /// The first `n` bytes of [`Target::path`] move to the script name.
    Prefix(usize),
    /// WFront 0.4: this text is appended to the script name, and as many bytes are
    /// cut from the front of the path info, whatever they are.
    Legacy(String),
}

/// A route match: the table index of the first matching route and its consumption.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Match {
    /// The route's index in table order.
    pub index: usize,
    /// What moves from path info to script name.
    pub consume: Consume,
}

// === Table ===

#[derive(Debug)]
enum Matcher {
    Strict(StrictSpec),
    Regex(RegexSpec, WarnOnce),
}

/// Logs a misplaced `pathinfo` group once per route.
#[derive(Debug, Default)]
struct WarnOnce(AtomicBool);

impl WarnOnce {
    fn warn(&self, spec: &str) {
        if !self.0.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                route = spec,
                "regex route matched but its `pathinfo` group did not take part or does not \
                 start at the path; nothing consumed"
            );
        }
    }
}

#[derive(Debug)]
struct Route {
    matcher: Matcher,
    shown: Arc<str>,
}

/// A compiled, ordered route table. See the [module docs](self).
#[derive(Debug)]
pub struct Table {
    mode: Mode,
    routes: Vec<Route>,
    index: Index,
}

impl Table {
    /// Compiles `specs` in order.
    ///
    /// # Errors
    ///
    /// A [`RouteError`] naming the first invalid spec and why, or the first spec that
    /// duplicates an earlier one.
    pub fn compile<I>(specs: I, mode: Mode, schemes: &Schemes) -> Result<Self, RouteError>
    where
        I: IntoIterator<Item = RouteSpec>,
    {
        Self::compile_with_macros(specs, mode, schemes, &BTreeMap::new())
    }

    pub(crate) fn compile_with_macros<I>(
        specs: I,
        mode: Mode,
        schemes: &Schemes,
        macros: &BTreeMap<String, String>,
    ) -> Result<Self, RouteError>
    where
        I: IntoIterator<Item = RouteSpec>,
    {
        let mut routes = Vec::new();
        let mut seen: HashMap<Arc<str>, usize> = HashMap::new();
        for (i, spec) in specs.into_iter().enumerate() {
            let matcher = match (&spec, mode) {
                (RouteSpec::Regex(p), _) => Matcher::Regex(
                    compile_regex(p, p).map_err(|r| invalid(i, &spec, r))?,
                    WarnOnce::default(),
                ),
                (RouteSpec::Spec(s), Mode::Strict) => {
                    let s = expand_macros(s, macros).map_err(|r| invalid(i, &spec, r))?;
                    Matcher::Strict(parse_strict(&s, schemes).map_err(|r| invalid(i, &spec, r))?)
                }
                (RouteSpec::Spec(s), Mode::Wfront04) => {
                    let s = expand_macros(s, macros).map_err(|r| invalid(i, &spec, r))?;
                    Matcher::Regex(
                        compile_wfront(&s).map_err(|r| invalid(i, &spec, r))?,
                        WarnOnce::default(),
                    )
                }
            };
            let shown: Arc<str> = match &matcher {
                Matcher::Strict(s) => s.to_string().into(),
                Matcher::Regex(r, _) => r.source.clone(),
            };
            if let Some(&first) = seen.get(&shown) {
                return Err(RouteError::duplicate(i, spec.to_string(), first, &shown));
            }
            seen.insert(shown.clone(), i);
            routes.push(Route { matcher, shown });
        }
        let index =
            Index::build(&routes, mode).map_err(|e| RouteError::too_large(e.to_string()))?;
        Ok(Self {
            mode,
            routes,
            index,
        })
    }

    /// The matching mode.
    #[must_use]
    pub const fn mode(&self) -> Mode {
        self.mode
    }

    /// The number of routes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the table has no route.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The normalised spec (strict string specs), the regex as written (regex specs)
    /// or the WFront pattern (compat string specs) of route `index`.
    #[must_use]
    pub fn spec(&self, index: usize) -> Option<&Arc<str>> {
        self.routes.get(index).map(|r| &r.shown)
    }

    /// Every route's [`Table::spec`], in match order.
    #[must_use]
    pub fn dump(&self) -> Vec<String> {
        self.routes.iter().map(|r| r.shown.to_string()).collect()
    }

    /// The first route matching `target`, found through the index.
    #[must_use]
    pub fn find(&self, target: &Target<'_>) -> Option<Match> {
        match self.mode {
            Mode::Strict => self.find_strict(target),
            Mode::Wfront04 => self.find_compat(target, true),
        }
    }

    /// The first route matching `target`, found by trying every route in order
    /// (WFront's algorithm). Always returns what [`Table::find`] returns.
    #[must_use]
    pub fn find_linear(&self, target: &Target<'_>) -> Option<Match> {
        if self.mode == Mode::Wfront04 {
            return self.find_compat(target, false);
        }
        let subject = self.index.regex.as_ref().map(|_| target.subject());
        self.routes.iter().enumerate().find_map(|(index, _)| {
            self.try_route(index, target, subject.as_deref())
                .map(|consume| Match { index, consume })
        })
    }

    /// Tries one route in strict mode.
    fn try_route(&self, index: usize, t: &Target<'_>, subject: Option<&str>) -> Option<Consume> {
        let route = self.routes.get(index)?;
        match &route.matcher {
            Matcher::Strict(s) => {
                if !(s.host.matches(t.host) && s.port.matches(t.port, t.label)) {
                    return None;
                }
                s.path.consumed(t.path).map(|n| {
                    if n == 0 {
                        Consume::Nothing
                    } else {
                        Consume::Prefix(n)
                    }
                })
            }
            Matcher::Regex(r, warn) => {
                let subject = subject?;
                let Some(group) = r.pathinfo else {
                    return r.regex.is_match(subject).then_some(Consume::Nothing);
                };
                let caps = r.regex.captures(subject)?;
                let path_at = subject.len() - t.path.len();
                match caps.get(group) {
                    Some(m) if m.start() == path_at => Some(if m.is_empty() {
                        Consume::Nothing
                    } else {
                        Consume::Prefix(m.len())
                    }),
                    _ => {
                        warn.warn(&route.shown);
                        Some(Consume::Nothing)
                    }
                }
            }
        }
    }

    fn find_strict(&self, t: &Target<'_>) -> Option<Match> {
        let mut best = usize::MAX;
        let mut check = |ids: &[usize]| {
            for &id in ids {
                if id >= best {
                    break;
                }
                if self.try_route(id, t, None).is_some() {
                    best = id;
                    break;
                }
            }
        };
        if !t.host.is_empty() {
            if let Some(node) = self.index.exact.get(t.host) {
                node.walk(t.path, &mut check);
            }
            let mut node = &self.index.wild;
            node.bucket.walk(t.path, &mut check);
            for label in t.host.rsplit('.') {
                match node.children.get(label) {
                    Some(n) => {
                        node = n;
                        node.bucket.walk(t.path, &mut check);
                    }
                    None => break,
                }
            }
            self.index.any.walk(t.path, &mut check);
        }
        // Regexes only matter when one precedes the best string-spec match.
        let mut subject = None;
        if let Some((set, ids)) = &self.index.regex {
            if ids.first().is_some_and(|&first| first < best) {
                let s = subject.insert(t.subject());
                // `is_match` does not allocate; most requests match no regex.
                if set.is_match(s) {
                    if let Some(id) = set.matches(s).iter().next().and_then(|i| ids.get(i)) {
                        best = best.min(*id);
                    }
                }
            }
        }
        if best == usize::MAX {
            return None;
        }
        let consume = self.try_route(best, t, subject.as_deref())?;
        Some(Match {
            index: best,
            consume,
        })
    }

    fn find_compat(&self, t: &Target<'_>, indexed: bool) -> Option<Match> {
        let subject = t.compat_subject();
        let index = if indexed {
            let (set, ids) = self.index.regex.as_ref()?;
            ids.get(set.matches(&subject).iter().next()?).copied()?
        } else {
            self.routes.iter().position(|r| match &r.matcher {
                Matcher::Regex(r, _) => r.regex.is_match(&subject),
                Matcher::Strict(_) => false,
            })?
        };
        let Matcher::Regex(r, warn) = &self.routes.get(index)?.matcher else {
            return None;
        };
        let consume = match r.pathinfo {
            None => Consume::Nothing,
            Some(g) => match r.regex.captures(&subject).and_then(|c| c.get(g)) {
                Some(m) => Consume::Legacy(m.as_str().to_owned()),
                None => {
                    // WFront 0.4 raised TypeError here (M21); never emulate a crash.
                    warn.warn(&self.routes.get(index)?.shown);
                    Consume::Nothing
                }
            },
        };
        Some(Match { index, consume })
    }
}

// === Index ===

#[derive(Debug, Default)]
struct PathNode {
    /// Route ids stored at this node, ascending.
    ids: Vec<usize>,
    children: HashMap<Box<str>, Self>,
}

impl PathNode {
    fn insert(&mut self, segments: &[&str], id: usize) {
        let mut node = self;
        for seg in segments {
            node = node.children.entry((*seg).into()).or_default();
        }
        node.ids.push(id);
    }

    /// Visits the ids of every node on the walk down `path`'s segments.
    fn walk(&self, path: &str, visit: &mut impl FnMut(&[usize])) {
        if !self.ids.is_empty() {
            visit(&self.ids);
        }
        let mut node = self;
        let Some(rest) = path.strip_prefix('/') else {
            return;
        };
        for seg in rest.split('/') {
            match node.children.get(seg) {
                Some(n) => {
                    node = n;
                    if !node.ids.is_empty() {
                        visit(&node.ids);
                    }
                }
                None => return,
            }
        }
    }
}

#[derive(Debug, Default)]
struct HostNode {
    bucket: PathNode,
    children: HashMap<Box<str>, Self>,
}

#[derive(Debug, Default)]
struct Index {
    exact: HashMap<Box<str>, PathNode>,
    wild: HostNode,
    any: PathNode,
    /// All regex routes (strict) or all routes (compat), and their table ids.
    regex: Option<(RegexSet, Vec<usize>)>,
}

impl Index {
    fn build(routes: &[Route], mode: Mode) -> Result<Self, regex::Error> {
        let mut index = Self::default();
        let mut patterns = Vec::new();
        let mut ids = Vec::new();
        for (id, route) in routes.iter().enumerate() {
            match &route.matcher {
                Matcher::Regex(r, _) => {
                    patterns.push(r.anchored.as_str());
                    ids.push(id);
                }
                Matcher::Strict(s) if mode == Mode::Strict => {
                    let segs = s.path.literal_segments();
                    match &s.host {
                        HostPat::Any => index.any.insert(&segs, id),
                        HostPat::Exact(h) => {
                            index.exact.entry(h.clone()).or_default().insert(&segs, id)
                        }
                        HostPat::Glob(g) => {
                            // Only labels that are complete in the literal suffix after
                            // the last star are a necessary condition.
                            let suffix = g.suffix();
                            let complete = suffix.find('.').map_or("", |i| &suffix[i + 1..]);
                            let mut node = &mut index.wild;
                            if !complete.is_empty() {
                                for label in complete.rsplit('.') {
                                    node = node.children.entry(label.into()).or_default();
                                }
                            }
                            node.bucket.insert(&segs, id);
                        }
                    }
                }
                Matcher::Strict(_) => {}
            }
        }
        if !patterns.is_empty() {
            index.regex = Some((RegexSet::new(patterns)?, ids));
        }
        Ok(index)
    }
}

impl fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.subject())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_is_host_port_path_or_the_label() {
        assert_eq!(
            Target::new("a.example", 8080, "/x/y").subject(),
            "a.example:8080:/x/y"
        );
        assert_eq!(Target::new("[::1]", 0, "").subject(), "[::1]:0:");
        assert_eq!(Target::new("", 65535, "/").subject(), ":65535:/");
        let labelled = Target::new("a.example", 443, "/x").with_label(Some("https"));
        assert_eq!(labelled.subject(), "a.example:https:/x");
        assert_eq!(labelled.to_string(), labelled.subject());
    }
}
