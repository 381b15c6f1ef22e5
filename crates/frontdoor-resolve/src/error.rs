//! Configuration errors.

use std::fmt;

/// An invalid resolver configuration value, naming the offending key and value.
///
/// ```
/// use frontdoor_resolve::ForwardedResolver;
///
/// let err = ForwardedResolver::try_new(["10.0.0.0/8", "not-a-cidr"]).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"invalid trusted_proxies entry "not-a-cidr": expected an IP address or CIDR"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolveConfigError {
    key: &'static str,
    value: String,
    reason: String,
}

impl ResolveConfigError {
    pub(crate) fn new(key: &'static str, value: &str, reason: impl fmt::Display) -> Self {
        Self {
            key,
            value: value.to_owned(),
            reason: reason.to_string(),
        }
    }

    /// The configuration key (`server_name`, `trusted_proxies`, ...).
    #[must_use]
    pub const fn key(&self) -> &'static str {
        self.key
    }

    /// The offending value.
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for ResolveConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} entry {:?}: {}",
            self.key, self.value, self.reason
        )
    }
}

impl std::error::Error for ResolveConfigError {}
