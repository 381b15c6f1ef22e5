//! The typed rule set: [`Rules`], its [`RulesBuilder`] and the [`Rule`]s it runs.
//!
//! * `rule`: one validated rule, its [`Category`] and how it rewrites a request;
//! * `builder`: the typed builder, which validates every rule and fixes the order;
//! * this file: the built set, run on each request.
//!
//! Nothing here knows the WFront text syntaxes; they sit on top, in `syntax`, and
//! build rules through [`RulesBuilder`].

use std::{fmt, sync::Arc};

pub use frontdoor_core::Mode;
use http::Request;

mod builder;
mod rule;

pub use builder::RulesBuilder;
pub use rule::{Category, Rule};

// === Rules ===

/// A built, validated rule set: the typed successor of WFront's `EnvironRewriter`.
///
/// Build it with [`Rules::builder`] (or, when migrating WFront configs, from text
/// with [`Rules::parse`]). Cheap to clone (the rules are shared). [`Rules::apply`]
/// rewrites a request in place; [`CleanupLayer`](crate::CleanupLayer) runs it in
/// front of a service. `Debug` lists the rules in evaluation order. See the
/// [crate docs](crate).
#[derive(Clone, PartialEq, Eq)]
pub struct Rules {
    mode: Mode,
    rules: Arc<[Rule]>,
}

impl Rules {
    /// A builder for a rule set, in [`Mode::Strict`].
    ///
    /// ```
    /// use frontdoor_cleanup::{Rules, Target};
    /// use http::header;
    ///
    /// let rules = Rules::builder()
    ///     .set(header::HeaderName::from_static("x-app"), "frontdoor")
    ///     .remove(header::COOKIE)
    ///     .set(Target::var("mode"), "wap")
    ///     .build()?;
    /// assert_eq!(rules.iter().len(), 3);
    /// # Ok::<(), frontdoor_cleanup::CleanupError>(())
    /// ```
    pub fn builder() -> RulesBuilder {
        RulesBuilder::default()
    }

    /// The semantics this set was built with.
    #[must_use]
    pub const fn mode(&self) -> Mode {
        self.mode
    }

    /// The rules in evaluation order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Rule> {
        self.rules.iter()
    }

    /// Whether the set has no rules.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Rewrites `req` in place, running every rule in evaluation order.
    ///
    /// Never fails and never panics: a rule whose result is invalid for its target
    /// (a header value with CR, LF or NUL, a path that does not fit a URI) is skipped
    /// with a `tracing` warning.
    pub fn apply<B>(&self, req: &mut Request<B>) {
        for rule in self.rules.iter() {
            rule.apply(req, self.mode);
        }
    }
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            mode: Mode::Strict,
            rules: Arc::new([]),
        }
    }
}

impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rules")
            .field("mode", &self.mode)
            .field("rules", &self.rules)
            .finish()
    }
}
