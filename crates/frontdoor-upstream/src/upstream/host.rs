//! [`HostPolicy`]: which `Host` the upstream sees, and its configuration text.

use std::str::FromStr;

use http::{uri::Authority, HeaderValue};

use crate::UpstreamConfigError;

// === HostPolicy ===

/// Which `Host` the upstream sees (rouille's `replace_host`, generalised).
///
/// Whatever the policy, exactly one `Host` line is sent, and one is added when the
/// client sent none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostPolicy {
    /// The upstream's authority, as configured (the default).
    #[default]
    UpstreamAuthority,
    /// The client's `Host` (or HTTP/2 `:authority`); the upstream authority when the
    /// client sent neither.
    Preserve,
    /// This fixed value.
    Replace(HeaderValue),
}

/// Parses `upstream` ([`HostPolicy::UpstreamAuthority`]), `preserve`
/// ([`HostPolicy::Preserve`]) or a literal `host[:port]` without userinfo
/// ([`HostPolicy::Replace`]). The error names the key `host`.
///
/// ```
/// use frontdoor_upstream::HostPolicy;
///
/// assert_eq!("preserve".parse::<HostPolicy>().unwrap(), HostPolicy::Preserve);
/// assert_eq!(
///     "backend.internal:8080".parse::<HostPolicy>().unwrap(),
///     HostPolicy::Replace(http::HeaderValue::from_static("backend.internal:8080")),
/// );
/// assert_eq!("a b".parse::<HostPolicy>().unwrap_err().key(), "host");
/// ```
impl FromStr for HostPolicy {
    type Err = UpstreamConfigError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "upstream" => Ok(Self::UpstreamAuthority),
            "preserve" => Ok(Self::Preserve),
            literal => {
                let authority = literal
                    .parse::<Authority>()
                    .ok()
                    .filter(|_| !literal.contains('@'))
                    .ok_or_else(|| {
                        UpstreamConfigError::new(
                            "host",
                            format!(
                                "expected \"upstream\", \"preserve\" or a host[:port], got {literal:?}"
                            ),
                        )
                    })?;
                HeaderValue::from_str(authority.as_str())
                    .map(Self::Replace)
                    .map_err(|e| {
                        UpstreamConfigError::new("host", format!("not a valid host: {literal:?}"))
                            .with_source(e)
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse() {
        let ok = [
            ("upstream", HostPolicy::UpstreamAuthority),
            ("preserve", HostPolicy::Preserve),
            (
                "example.com",
                HostPolicy::Replace(HeaderValue::from_static("example.com")),
            ),
            (
                "[::1]:8080",
                HostPolicy::Replace(HeaderValue::from_static("[::1]:8080")),
            ),
        ];
        for (text, want) in ok {
            assert_eq!(text.parse::<HostPolicy>().unwrap(), want, "{text}");
        }
    }

    #[test]
    fn bad_policies_name_the_key() {
        for text in ["", "a b", "u@h", "h/p"] {
            let err = text.parse::<HostPolicy>().unwrap_err();
            assert_eq!(err.key(), "host", "{text}");
            assert!(
                err.message()
                    .starts_with("expected \"upstream\", \"preserve\""),
                "{text}: {err}"
            );
        }
    }
}
