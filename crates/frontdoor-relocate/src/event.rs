//! What a relocation reports beside its answers: bodies it passed on unrewritten,
//! and bodies cut off past the decoded-size cap. See [`RelocateLayer::on_event`].
//!
//! [`RelocateLayer::on_event`]: crate::RelocateLayer::on_event

use std::{fmt, sync::Arc};

/// Why a body that would have been rewritten is passed on as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// Its `Content-Encoding` names a coding that is not gzip, deflate, br or zstd.
    UnknownCoding,
    /// Its `Content-Encoding` names more than one coding (`gzip, br`).
    StackedCodings,
}

impl SkipReason {
    /// A short, stable, lowercase name for logs and metrics labels.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UnknownCoding => "unknown_coding",
            Self::StackedCodings => "stacked_codings",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a relocation reports to its [`OnRelocateEvent`] hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RelocateEvent {
    /// A response body that would have been rewritten was passed on unrewritten.
    Skipped(SkipReason),
    /// A coded body decoded to more than the cap
    /// ([`RelocateLayer::max_decoded_body`](crate::RelocateLayer::max_decoded_body))
    /// and was cut off.
    DecodedTooLarge {
        /// The cap, in bytes.
        limit: u64,
    },
}

/// A hook that sees every [`RelocateEvent`]: for metrics, or logging beyond the
/// layer's own `debug` and `warn` events. Implemented by every
/// `Fn(&RelocateEvent) + Send + Sync` closure; it is shared by every clone of the
/// layer, so keep state in atomics or behind locks.
pub trait OnRelocateEvent: Send + Sync + 'static {
    /// Called once per event, on the task serving the exchange.
    fn on_event(&self, event: &RelocateEvent);
}

impl<F> OnRelocateEvent for F
where
    F: Fn(&RelocateEvent) + Send + Sync + 'static,
{
    fn on_event(&self, event: &RelocateEvent) {
        self(event);
    }
}

/// The layer's hook, if any.
#[derive(Clone, Default)]
pub(crate) struct Hook(Option<Arc<dyn OnRelocateEvent>>);

impl Hook {
    pub(crate) fn new(hook: Arc<dyn OnRelocateEvent>) -> Self {
        Self(Some(hook))
    }

    pub(crate) fn emit(&self, event: &RelocateEvent) {
        if let Some(hook) = &self.0 {
            hook.on_event(event);
        }
    }
}

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Hook(Some)"
        } else {
            "Hook(None)"
        })
    }
}
