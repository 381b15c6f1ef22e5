//! Request edits, as the binary's `--set-header`, `--remove-header` and
//! `--rewrite-path` flags give them (GoReplay's `--http-set-header` and
//! `--http-rewrite-url`, done in the middleware).
//!
//! An edit is parsed once, at start ([`RequestEdit::set_header`],
//! [`RequestEdit::remove_header`], [`RequestEdit::rewrite_path`]); a bad value is
//! an [`EditSpecError`] naming its flag. [`RequestEdits::apply`] then applies
//! them in order to a request payload and changes nothing else: every other
//! byte of the head and the body is kept, an edited header is written
//! `Name: value` (the name as given), and `Content-Length` stays right because
//! the body never changes (the framing headers cannot be edited). When an edit
//! cannot apply (no head to set a header in, a rewritten path that cannot go on
//! a request line) the payload is left unchanged as a whole and the error says
//! which edit failed.
//!
//! ```
//! use frontdoor_gor::edit::{RequestEdit, RequestEdits};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let edits = RequestEdits::new([
//!     RequestEdit::set_header("X-Replayed: 1")?,
//!     RequestEdit::remove_header("cookie")?,
//!     RequestEdit::rewrite_path("^/v1/(.*)$:/v2/$1")?,
//! ]);
//! let req = b"POST /v1/users?x=1 HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nContent-Length: 2\r\n\r\n{}";
//! let edited = edits.apply(req)?;
//! assert_eq!(
//!     &edited[..],
//!     b"POST /v2/users?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nX-Replayed: 1\r\n\r\n{}"
//! );
//! // No head to put a header in: the payload is left as it was.
//! assert!(edits.apply(b"").is_err());
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;
use std::fmt;

use regex::Regex;

use crate::payload::{self, PayloadError};

/// One edit of a request payload.
#[derive(Clone, Debug)]
pub struct RequestEdit {
    op: Op,
    /// The flag and value it came from, for messages.
    spec: String,
}

#[derive(Clone, Debug)]
enum Op {
    SetHeader { name: String, value: String },
    RemoveHeader { name: String },
    RewritePath { pattern: Regex, replacement: String },
}

/// Why a flag's value is not an edit; the message names the flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditSpecError {
    flag: &'static str,
    value: String,
    reason: String,
}

/// An edit that could not apply to a payload, which is then left unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditError {
    /// The edit, as its flag gave it (`--set-header X-Name:v`).
    pub edit: String,
    /// Why it could not apply.
    pub error: PayloadError,
}

/// Edits applied in order, all or nothing.
#[derive(Clone, Debug, Default)]
pub struct RequestEdits {
    edits: Vec<RequestEdit>,
}

// === impl RequestEdit ===

impl RequestEdit {
    /// `NAME:VALUE` (`--set-header`): sets header `NAME` to `VALUE`, both trimmed
    /// of spaces; the first `NAME` header is replaced where it stands, later ones
    /// removed, or the header is added at the end of the head.
    ///
    /// # Errors
    /// No colon, a name that is not an HTTP token, a value with a control
    /// character, or a framing header (`Content-Length`, `Transfer-Encoding`).
    pub fn set_header(spec: &str) -> Result<Self, EditSpecError> {
        const FLAG: &str = "--set-header";
        let (name, value) = spec
            .split_once(':')
            .ok_or_else(|| EditSpecError::new(FLAG, spec, "expected NAME:VALUE"))?;
        let (name, value) = (name.trim(), value.trim());
        header_name(FLAG, spec, name)?;
        if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(EditSpecError::new(
                FLAG,
                spec,
                "the value has a control character",
            ));
        }
        Ok(Self {
            op: Op::SetHeader {
                name: name.to_owned(),
                value: value.to_owned(),
            },
            spec: format!("{FLAG} {spec}"),
        })
    }

    /// `NAME` (`--remove-header`): removes every `NAME` header (any case).
    ///
    /// # Errors
    /// A name that is not an HTTP token, or a framing header.
    pub fn remove_header(name: &str) -> Result<Self, EditSpecError> {
        const FLAG: &str = "--remove-header";
        header_name(FLAG, name, name.trim())?;
        Ok(Self {
            op: Op::RemoveHeader {
                name: name.trim().to_owned(),
            },
            spec: format!("{FLAG} {name}"),
        })
    }

    /// `REGEX:REPLACEMENT` (`--rewrite-path`): replaces every match of `REGEX` in
    /// the request target (path and query) with `REPLACEMENT`, where `$1` or
    /// `${name}` insert a group (the `regex` crate's syntax, as Go's). The first
    /// colon not escaped as `\:` ends `REGEX` (so write `(?\:...)` for a group
    /// that does not capture); a target the pattern does not match is kept.
    ///
    /// # Errors
    /// No colon, or a `REGEX` that does not compile.
    pub fn rewrite_path(spec: &str) -> Result<Self, EditSpecError> {
        const FLAG: &str = "--rewrite-path";
        let (pattern, replacement) = split_unescaped_colon(spec)
            .ok_or_else(|| EditSpecError::new(FLAG, spec, "expected REGEX:REPLACEMENT"))?;
        let pattern =
            Regex::new(&pattern).map_err(|e| EditSpecError::new(FLAG, spec, e.to_string()))?;
        Ok(Self {
            op: Op::RewritePath {
                pattern,
                replacement: replacement.to_owned(),
            },
            spec: format!("{FLAG} {spec}"),
        })
    }

    /// The edit applied to `p`: borrowed when nothing changed.
    ///
    /// # Errors
    /// [`PayloadError::NoHead`] for a header set on a payload without a head;
    /// [`PayloadError::NoTarget`] or [`PayloadError::InvalidTarget`] for a path
    /// rewrite without a target to rewrite or with an unusable result.
    pub fn apply<'p>(&self, p: &'p [u8]) -> Result<Cow<'p, [u8]>, PayloadError> {
        match &self.op {
            Op::SetHeader { name, value } => {
                payload::try_set_header(p, name, value.as_bytes()).map(Cow::Owned)
            }
            Op::RemoveHeader { name } => Ok(if payload::header(p, name).is_some() {
                Cow::Owned(payload::delete_header(p, name))
            } else {
                Cow::Borrowed(p)
            }),
            Op::RewritePath {
                pattern,
                replacement,
            } => {
                let target = payload::path(p).ok_or(PayloadError::NoTarget)?;
                let rewritten = pattern.replace_all(target, replacement.as_str());
                if rewritten == target {
                    return Ok(Cow::Borrowed(p));
                }
                if rewritten.is_empty()
                    || rewritten.bytes().any(|b| b == b' ' || b.is_ascii_control())
                {
                    return Err(PayloadError::InvalidTarget);
                }
                Ok(Cow::Owned(payload::set_path(p, &rewritten)))
            }
        }
    }
}

impl fmt::Display for RequestEdit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec)
    }
}

/// Checks a header name given to `flag`.
fn header_name(flag: &'static str, spec: &str, name: &str) -> Result<(), EditSpecError> {
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(EditSpecError::new(
            flag,
            spec,
            format!("{name:?} is not a header name"),
        ));
    }
    if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("transfer-encoding")
    {
        return Err(EditSpecError::new(
            flag,
            spec,
            format!(
                "{name} frames the body and is kept right by frontdoor-gor; it cannot be edited"
            ),
        ));
    }
    Ok(())
}

/// `spec` split at its first colon not escaped by a backslash, with `\:`
/// unescaped in the part before (other escapes are kept for the regex).
fn split_unescaped_colon(spec: &str) -> Option<(String, &str)> {
    let mut before = String::with_capacity(spec.len());
    let mut chars = spec.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, ':')) => before.push(':'),
                Some((_, other)) => {
                    before.push('\\');
                    before.push(other);
                }
                None => before.push('\\'),
            },
            ':' => return Some((before, &spec[at + 1..])),
            c => before.push(c),
        }
    }
    None
}

// === impl RequestEdits ===

impl RequestEdits {
    /// These edits, applied in this order.
    pub fn new(edits: impl IntoIterator<Item = RequestEdit>) -> Self {
        Self {
            edits: edits.into_iter().collect(),
        }
    }

    /// Whether there is no edit.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Every edit applied to `p` in order: borrowed when nothing changed.
    ///
    /// # Errors
    /// The first edit that could not apply; `p` is then to be kept as it was.
    pub fn apply<'p>(&self, p: &'p [u8]) -> Result<Cow<'p, [u8]>, EditError> {
        let mut current = Cow::Borrowed(p);
        for edit in &self.edits {
            let next = edit.apply(&current).map_err(|error| EditError {
                edit: edit.spec.clone(),
                error,
            })?;
            if let Cow::Owned(next) = next {
                current = Cow::Owned(next);
            }
        }
        Ok(current)
    }
}

// === impl EditSpecError, EditError ===

impl EditSpecError {
    fn new(flag: &'static str, value: &str, reason: impl Into<String>) -> Self {
        Self {
            flag,
            value: value.to_owned(),
            reason: reason.into(),
        }
    }

    /// The flag whose value was refused (`--set-header`).
    #[must_use]
    pub fn flag(&self) -> &str {
        self.flag
    }
}

impl fmt::Display for EditSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}: {}", self.flag, self.value, self.reason)
    }
}

impl std::error::Error for EditSpecError {}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.edit, self.error)
    }
}

impl std::error::Error for EditError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

#[cfg(test)]
mod tests;
