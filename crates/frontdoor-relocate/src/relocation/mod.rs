//! The one mapping between the public (local) root and the upstream (remote) root.

use std::{borrow::Cow, fmt};

use frontdoor_core::proto::rebase;

use crate::{
    root::{Origin, ParseRootError, Root},
    url::{self, UrlRef},
};

/// Which way a URL is moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Public to upstream (requests).
    ToRemote,
    /// Upstream to public (responses).
    ToLocal,
}

/// A URL that cannot be parsed (a space, a control character, a backslash, a bad
/// host or port); distinct from a valid URL that is simply not ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Invalid;

/// A local root and a remote root, and the one function that moves URLs between them.
///
/// [`to_remote`](Relocation::to_remote) and [`to_local`](Relocation::to_local) both
/// match and rewrite in one step, so they can never disagree: a URL is moved only when
/// its path lies under the source root on a segment boundary
/// ([`rebase`](frontdoor_core::proto::rebase), the workspace's one path join) and, for
/// an absolute or network-path (`//host/..`) URL, when its origin is the source root's
/// origin (scheme and host compared case-insensitively, a default port equal to an
/// absent one). Anything else gives `None` and is left alone by the layer: a URL on
/// another host, outside the root, with userinfo, with another scheme, or relative
/// (without a base, see [`to_local_from`](Relocation::to_local_from)). A result that
/// would start with `//` is refused, so a relocation never makes a network-path
/// reference (an open redirect) out of a path.
///
/// Absolute URLs keep their form: they come out with the target root's origin, or as
/// a path when the target root has none. Paths stay paths. Query and fragment are
/// carried byte for byte; dot-segments are removed before matching (`/dav/../x` is
/// `/x`, which is outside `/dav`).
///
/// ```
/// use frontdoor_relocate::Relocation;
///
/// let r = Relocation::try_new("http://localhost:8080/dav", "http://files.internal/webdav/")?;
/// assert_eq!(r.to_remote("/dav/a?x=1").as_deref(), Some("/webdav/a?x=1"));
/// assert_eq!(
///     r.to_local("HTTP://Files.Internal:80/webdav/sub/").as_deref(),
///     Some("http://localhost:8080/dav/sub/"),
/// );
/// assert_eq!(r.to_local("/webdavx"), None); // not on a segment boundary
/// assert_eq!(r.to_local("http://evil.example/webdav/x"), None); // another host
/// assert_eq!(r.to_local("//evil.example/webdav/x"), None);
/// # Ok::<(), frontdoor_relocate::ParseRootError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relocation {
    local: Root,
    remote: Root,
    aliases: Vec<Origin>,
}

impl Relocation {
    /// A relocation between `local` (public) and `remote` (upstream).
    #[must_use]
    pub const fn new(local: Root, remote: Root) -> Self {
        Self {
            local,
            remote,
            aliases: Vec::new(),
        }
    }

    /// Parses both roots (see [`Root`]).
    ///
    /// # Errors
    ///
    /// When either root does not parse.
    pub fn try_new(local: &str, remote: &str) -> Result<Self, ParseRootError> {
        Ok(Self::new(local.parse()?, remote.parse()?))
    }

    /// Adds another origin under which the upstream names itself in responses (for
    /// example the public host, when the upstream is sent the client's `Host`).
    /// [`to_local`](Relocation::to_local) accepts it like the remote root's origin.
    #[must_use]
    pub fn with_remote_alias(mut self, origin: Origin) -> Self {
        if !self.aliases.contains(&origin) {
            self.aliases.push(origin);
        }
        self
    }

    /// The local (public) root.
    #[must_use]
    pub const fn local(&self) -> &Root {
        &self.local
    }

    /// The remote (upstream) root.
    #[must_use]
    pub const fn remote(&self) -> &Root {
        &self.remote
    }

    /// The extra remote origins ([`with_remote_alias`](Relocation::with_remote_alias)).
    #[must_use]
    pub fn remote_aliases(&self) -> &[Origin] {
        &self.aliases
    }

    /// Moves a public URL or absolute path to the upstream's; `None` when it is not
    /// under the local root.
    #[must_use]
    pub fn to_remote(&self, url: &str) -> Option<String> {
        self.map(Direction::ToRemote, url, None).ok().flatten()
    }

    /// Moves an upstream URL or absolute path to the public one; `None` when it is not
    /// under the remote root.
    #[must_use]
    pub fn to_local(&self, url: &str) -> Option<String> {
        self.map(Direction::ToLocal, url, None).ok().flatten()
    }

    /// As [`to_local`](Relocation::to_local), resolving a relative reference (`login`,
    /// `../x`, `?q`) against `base` first: the upstream request's path and query
    /// (`/webdav/dir/page?x=1`), as a response header's relative URL is. A relative
    /// reference comes out as an absolute path.
    #[must_use]
    pub fn to_local_from(&self, base: &str, url: &str) -> Option<String> {
        self.map(Direction::ToLocal, url, Some(base)).ok().flatten()
    }

    /// The mapping itself: `Err(Invalid)` for an unparseable URL, `Ok(None)` for one
    /// that is not ours.
    pub(crate) fn map(
        &self,
        dir: Direction,
        url: &str,
        base: Option<&str>,
    ) -> Result<Option<String>, Invalid> {
        let (from, to) = match dir {
            Direction::ToRemote => (&self.local, &self.remote),
            Direction::ToLocal => (&self.remote, &self.local),
        };
        let (origin, rest) = match url::classify(url).ok_or(Invalid)? {
            UrlRef::Absolute {
                scheme,
                authority,
                rest,
            } => match Origin::parse_parts(scheme, authority).map_err(|()| Invalid)? {
                Some(origin) => (origin, rest),
                None => return Ok(None),
            },
            UrlRef::NetworkPath { authority, rest } => {
                let Some(scheme) = from.origin().map(Origin::scheme_str) else {
                    return Ok(None);
                };
                match Origin::parse_parts(scheme, authority).map_err(|()| Invalid)? {
                    Some(origin) => (origin, rest),
                    None => return Ok(None),
                }
            }
            UrlRef::PathAbsolute(path) => return Ok(move_path(path, from, to, false)),
            UrlRef::Relative(reference) => {
                return Ok(
                    base.and_then(|b| move_path(&url::resolve(b, reference), from, to, false))
                );
            }
            UrlRef::Opaque => return Ok(None),
        };
        let ours = from.matches_origin(&origin)
            || (dir == Direction::ToLocal && self.aliases.contains(&origin));
        Ok(ours.then(|| move_path(rest, from, to, true)).flatten())
    }

    /// Moves a public `Origin` header value (`scheme://host[:port]`) to the remote
    /// root's origin; `None` when it is not the local root's origin.
    pub(crate) fn origin_to_remote(&self, value: &str) -> Option<String> {
        let UrlRef::Absolute {
            scheme,
            authority,
            rest: "",
        } = url::classify(value)?
        else {
            return None;
        };
        let origin = Origin::parse_parts(scheme, authority).ok()??;
        if !self.local.matches_origin(&origin) {
            return None;
        }
        self.remote.origin().map(ToString::to_string)
    }
}

impl fmt::Display for Relocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} <-> {}", self.local, self.remote)
    }
}

/// Moves `rest` (a path with optional query and fragment) from under `from` to under
/// `to`; an absolute URL gets `to`'s origin when it has one.
fn move_path(rest: &str, from: &Root, to: &Root, absolute: bool) -> Option<String> {
    let (path, suffix) = url::split_path(rest);
    let target = match url::remove_dot_segments(path) {
        Cow::Borrowed(_) => Cow::Borrowed(rest),
        Cow::Owned(mut p) => {
            p.push_str(suffix);
            Cow::Owned(p)
        }
    };
    let moved = rebase(&target, from.path(), to.path())?;
    match to.origin() {
        Some(origin) if absolute => {
            let mut out = String::with_capacity(moved.len() + 32);
            origin.write_to(&mut out);
            out.push_str(&moved);
            Some(out)
        }
        _ if moved.starts_with("//") => None,
        _ => Some(moved),
    }
}

#[cfg(test)]
mod tests;
