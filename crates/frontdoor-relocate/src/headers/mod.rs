//! Header relocation: request headers move local to remote, response headers remote
//! to local.

pub(crate) mod cookie;
pub(crate) mod request;
pub(crate) mod response;

use std::fmt;

use http::{header::Entry, HeaderMap, HeaderName, HeaderValue};

use crate::relocation::Invalid;

/// A header that had to be rewritten and could not be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HeaderError {
    pub(crate) name: HeaderName,
    pub(crate) reason: &'static str,
}

impl HeaderError {
    pub(crate) fn new(name: &HeaderName, reason: &'static str) -> Self {
        Self {
            name: name.clone(),
            reason,
        }
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.reason)
    }
}

/// Rewrites every value of `name` with `f` (`Ok(None)` keeps a value).
pub(crate) fn each(
    headers: &mut HeaderMap,
    name: &HeaderName,
    mut f: impl FnMut(&str) -> Result<Option<String>, Invalid>,
) -> Result<(), HeaderError> {
    let Entry::Occupied(mut entry) = headers.entry(name) else {
        return Ok(());
    };
    for value in entry.iter_mut() {
        let text = value
            .to_str()
            .map_err(|_| HeaderError::new(name, "not visible ascii"))?;
        let new = f(text.trim()).map_err(|Invalid| HeaderError::new(name, "unparseable url"))?;
        if let Some(new) = new {
            *value = HeaderValue::try_from(new)
                .map_err(|_| HeaderError::new(name, "rewritten value is not a valid header"))?;
        }
    }
    Ok(())
}

/// As [`each`], for a header that must appear at most once.
pub(crate) fn single(
    headers: &mut HeaderMap,
    name: &HeaderName,
    f: impl FnMut(&str) -> Result<Option<String>, Invalid>,
) -> Result<(), HeaderError> {
    if headers.get_all(name).iter().nth(1).is_some() {
        return Err(HeaderError::new(name, "more than one value"));
    }
    each(headers, name, f)
}
