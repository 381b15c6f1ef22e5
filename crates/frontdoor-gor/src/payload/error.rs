//! [`PayloadError`]: why a payload could not be edited.

use std::fmt;

/// Why a payload could not be edited; the payload is then left as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadError {
    /// No head to edit: the payload is empty, has no start line, or no blank
    /// line ends its head (a header added there would make it a degenerate
    /// message such as `\r\nX-Name: v`).
    NoHead,
    /// A request edit found no request target (path) on the start line.
    NoTarget,
    /// A path rewrite produced a target that cannot go on a request line:
    /// empty, or with a space or control character.
    InvalidTarget,
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoHead => "the payload has no head (empty, or no blank line after the headers)",
            Self::NoTarget => "the payload has no request target",
            Self::InvalidTarget => "the rewritten path is not a valid request target",
        })
    }
}

impl std::error::Error for PayloadError {}
