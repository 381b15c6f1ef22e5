//! Path canonicalisation: one function for every layer that matches on paths.
//!
//! Matching, consuming and forwarding must all see the same string (spec S4, envoy
//! CVE-2019-9901). [`canonicalize`] produces it:
//!
//! 1. percent-escapes of unreserved characters (`A-Z a-z 0-9 - . _ ~`) are decoded;
//!    every other escape is kept, with its hex digits uppercased;
//! 2. `%2F` and `%5C` (an encoded slash or backslash) stay opaque: never a segment
//!    separator. [`EncodedSlash::Reject`] refuses them instead (with a raw `\` and a
//!    segment starting `..;`), [`EncodedSlash::Decode`] decodes them first;
//! 3. runs of `/` are merged into one (configurable);
//! 4. dot-segments are removed as in RFC 3986 section 5.2.4; `..` never climbs above
//!    the root;
//! 5. NUL (raw or `%00`), a malformed escape, or a path that is not absolute is an
//!    error of kind [`ErrorKind::BadRequest`](crate::ErrorKind::BadRequest).
//!
//! An already canonical path is returned borrowed, without allocating.
//!
//! [`decode_path`] is steps 1, 2 and 5 alone, for a path that is forwarded but not
//! routed (a WebDAV `Destination`): the same decoding and the same refusals, with dot
//! segments left for whoever resolves the path next.

use std::{borrow::Cow, fmt};

use crate::{Error, ErrorKind};

/// What to do with escaped slashes and backslashes in a path (Envoy's
/// `path_with_escaped_slashes_action`).
///
/// A backend may decode `%2F` into a separator, treat `\` as one (Windows, IIS), or
/// strip `;` path parameters before resolving dot segments (Tomcat: `/app/..;/admin`
/// is `/admin`), so it can see a different path than the one a proxy matched and
/// authorised. **Security note:** put `Reject` (or `Decode`) in front of backends that
/// do, and of any route whose access control depends on the path.
///
/// | policy | `%2F`, `%5C` (either case) | raw `\` | a segment starting `..;` |
/// |---|---|---|---|
/// | [`Keep`](Self::Keep) (default) | kept, opaque (`%2F`, `%5C`) | kept | kept |
/// | [`Reject`](Self::Reject) | refused | refused | refused |
/// | [`Decode`](Self::Decode) | decoded to `/` and `\`, then dot segments resolved | kept | kept |
///
/// `Keep` is the default because APIs put `%2F` in identifiers (GitLab's
/// `/projects/group%2Fname`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodedSlash {
    /// Keep `%2F` and `%5C` as opaque parts of their segment (the default).
    #[default]
    Keep,
    /// Refuse `%2F`, `%5C`, a raw `\` and a segment starting `..;`
    /// ([`PathError::EncodedSlash`], [`PathError::Backslash`],
    /// [`PathError::DotSemicolon`]).
    Reject,
    /// Decode `%2F` to `/` and `%5C` to `\` before anything else, so `%2F` separates
    /// segments and `..%2F` climbs like `../`.
    Decode,
}

impl EncodedSlash {
    /// The policy's name in configuration files: `keep`, `reject` or `decode`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Keep => "keep",
            Self::Reject => "reject",
            Self::Decode => "decode",
        }
    }
}

impl fmt::Display for EncodedSlash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EncodedSlash {
    type Err = String;

    /// Parses `keep`, `reject` or `decode`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "keep" => Ok(Self::Keep),
            "reject" => Ok(Self::Reject),
            "decode" => Ok(Self::Decode),
            other => Err(format!(
                "unknown policy {other:?}: expected \"keep\", \"reject\" or \"decode\""
            )),
        }
    }
}

/// Options for [`canonicalize_with`]. The default keeps `%2F` and merges slashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CanonicalOptions {
    /// What to do with `%2F`. Default: [`EncodedSlash::Keep`].
    pub encoded_slash: EncodedSlash,
    /// Whether `//` is merged into `/`. Default: `true`.
    pub merge_slashes: bool,
}

impl CanonicalOptions {
    /// The default options.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            encoded_slash: EncodedSlash::Keep,
            merge_slashes: true,
        }
    }

    /// Sets the `%2F` policy.
    #[must_use]
    pub const fn encoded_slash(mut self, policy: EncodedSlash) -> Self {
        self.encoded_slash = policy;
        self
    }

    /// Sets whether `//` is merged into `/`.
    #[must_use]
    pub const fn merge_slashes(mut self, merge: bool) -> Self {
        self.merge_slashes = merge;
        self
    }

    /// These options with their escaped-slash policy narrowed to `policy`: never wider
    /// than before. [`EncodedSlash::Reject`] is the only narrower policy (it refuses
    /// what the others keep or decode), so narrowing to it gives `Reject`, and
    /// narrowing to [`Keep`](EncodedSlash::Keep) or [`Decode`](EncodedSlash::Decode)
    /// changes nothing: neither is narrower than the other, and a path canonicalised
    /// under one is not made canonical under the other by recording it.
    /// [`merge_slashes`](Self::merge_slashes) is kept.
    ///
    /// ```
    /// use frontdoor_core::{CanonicalOptions, EncodedSlash};
    ///
    /// let keep = CanonicalOptions::new();
    /// let reject = keep.narrowed(EncodedSlash::Reject);
    /// assert_eq!(reject.encoded_slash, EncodedSlash::Reject);
    /// // Never widened back.
    /// assert_eq!(reject.narrowed(EncodedSlash::Keep), reject);
    /// assert_eq!(keep.narrowed(EncodedSlash::Decode), keep);
    /// ```
    #[must_use]
    pub const fn narrowed(self, policy: EncodedSlash) -> Self {
        match policy {
            EncodedSlash::Reject => self.encoded_slash(EncodedSlash::Reject),
            EncodedSlash::Keep | EncodedSlash::Decode => self,
        }
    }
}

impl Default for CanonicalOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a path could not be canonicalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathError {
    /// A `%` not followed by two hex digits.
    MalformedEscape,
    /// A NUL byte, raw or as `%00`.
    Nul,
    /// `%2F` or `%5C` under [`EncodedSlash::Reject`].
    EncodedSlash,
    /// A raw `\` under [`EncodedSlash::Reject`].
    Backslash,
    /// A segment starting `..;` (a Tomcat-style path parameter on `..`) under
    /// [`EncodedSlash::Reject`].
    DotSemicolon,
    /// The path does not start with `/`.
    NotAbsolute,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MalformedEscape => "malformed percent-escape in path",
            Self::Nul => "nul byte in path",
            Self::EncodedSlash => "encoded slash or backslash in path",
            Self::Backslash => "backslash in path",
            Self::DotSemicolon => "`..;` segment in path",
            Self::NotAbsolute => "path is not absolute",
        })
    }
}

impl std::error::Error for PathError {}

impl From<PathError> for Error {
    fn from(e: PathError) -> Self {
        Self::new(ErrorKind::BadRequest, e.to_string()).with_source(e)
    }
}

/// Canonicalises a request path with the default [`CanonicalOptions`].
///
/// 1. percent-escapes of unreserved characters (`A-Z a-z 0-9 - . _ ~`) are decoded;
///    every other escape is kept, with its hex digits uppercased;
/// 2. `%2F` and `%5C` stay opaque (never a segment separator), are refused under
///    [`EncodedSlash::Reject`] (as are a raw `\\` and a segment starting `..;`), or are
///    decoded first under [`EncodedSlash::Decode`];
/// 3. runs of `/` are merged into one (configurable);
/// 4. dot-segments are removed (RFC 3986 section 5.2.4); `..` never climbs above the
///    root;
/// 5. NUL (raw or `%00`), a malformed escape or a relative path is a [`PathError`].
///
/// An empty path is taken as `/`; an already canonical path is returned borrowed.
///
/// ```
/// use frontdoor_core::{canonicalize, PathError};
///
/// assert_eq!(canonicalize("/a/./b/../c").unwrap(), "/a/c");
/// assert_eq!(canonicalize("/%2e%2e/etc/passwd").unwrap(), "/etc/passwd");
/// assert_eq!(canonicalize("/a%2fb").unwrap(), "/a%2Fb");
/// assert_eq!(canonicalize("/a%00"), Err(PathError::Nul));
/// ```
pub fn canonicalize(path: &str) -> Result<Cow<'_, str>, PathError> {
    canonicalize_with(path, CanonicalOptions::new())
}

/// Canonicalises a request path with explicit options.
///
/// ```
/// use frontdoor_core::{canonicalize_with, CanonicalOptions, EncodedSlash, PathError};
///
/// let strict = CanonicalOptions::new().encoded_slash(EncodedSlash::Reject);
/// assert_eq!(canonicalize_with("/a%2Fb", strict), Err(PathError::EncodedSlash));
/// assert_eq!(canonicalize_with("/app/..;/admin", strict), Err(PathError::DotSemicolon));
/// let decode = CanonicalOptions::new().encoded_slash(EncodedSlash::Decode);
/// assert_eq!(canonicalize_with("/public/..%2Fadmin", decode).unwrap(), "/admin");
/// let raw_slashes = CanonicalOptions::new().merge_slashes(false);
/// assert_eq!(canonicalize_with("/a//b", raw_slashes).unwrap(), "/a//b");
/// ```
pub fn canonicalize_with(path: &str, opts: CanonicalOptions) -> Result<Cow<'_, str>, PathError> {
    if path.is_empty() {
        return Ok(Cow::Borrowed("/"));
    }
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let scan = scan(path, opts)?;
    if scan.canonical {
        return Ok(Cow::Borrowed(path));
    }
    let decoded = decode_scanned(path, scan, opts)?;
    Ok(Cow::Owned(remove_dot_segments(
        &decoded,
        opts.merge_slashes,
    )))
}

/// Decodes a path as [`canonicalize_with`] does before it resolves anything: steps 1,
/// 2 and 5 (unreserved escapes decoded, other escapes uppercased, the
/// [`EncodedSlash`] policy applied, NUL and malformed escapes refused), without
/// removing dot segments or merging `//`.
///
/// This is the decoding for a path that is forwarded but not routed, such as the
/// path of a WebDAV `Destination`: under [`EncodedSlash::Decode`], `..%2F` becomes a
/// `../` that whoever resolves the path next sees; under [`EncodedSlash::Reject`], the
/// same inputs are refused as in a request path. An empty path is returned as it is;
/// a path that already needs no decoding is returned borrowed.
///
/// ```
/// use frontdoor_core::{decode_path, CanonicalOptions, EncodedSlash, PathError};
///
/// let decode = CanonicalOptions::new().encoded_slash(EncodedSlash::Decode);
/// assert_eq!(decode_path("/dav/..%2f..%2Fsecret", decode).unwrap(), "/dav/../../secret");
/// assert_eq!(decode_path("/a//./%7e", decode).unwrap(), "/a//./~");
/// let reject = CanonicalOptions::new().encoded_slash(EncodedSlash::Reject);
/// assert_eq!(decode_path("/dav/..;/x", reject), Err(PathError::DotSemicolon));
/// assert_eq!(decode_path("/dav/a%5cb", reject), Err(PathError::EncodedSlash));
/// ```
///
/// # Errors
///
/// A [`PathError`], as [`canonicalize_with`] gives for the same path and options.
pub fn decode_path(path: &str, opts: CanonicalOptions) -> Result<Cow<'_, str>, PathError> {
    if path.is_empty() {
        return Ok(Cow::Borrowed(path));
    }
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let scan = scan(path, opts)?;
    decode_scanned(path, scan, opts)
}

/// What [`scan`] found in a path.
#[derive(Clone, Copy)]
struct Scan {
    /// The path holds a `%`.
    escapes: bool,
    /// The path is canonical already: no escape, no empty segment (when merging) and
    /// no dot segment.
    canonical: bool,
}

/// One pass over an absolute path: what the slow path has to do. Errors on raw NUL
/// (and, under [`EncodedSlash::Reject`], on a raw `\` and a `..;` segment) so the
/// slow path need not.
fn scan(path: &str, opts: CanonicalOptions) -> Result<Scan, PathError> {
    let bytes = path.as_bytes();
    let reject = opts.encoded_slash == EncodedSlash::Reject;
    let mut found = Scan {
        escapes: false,
        canonical: true,
    };
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            0 => return Err(PathError::Nul),
            b'\\' if reject => return Err(PathError::Backslash),
            b'.' if reject && bytes[i - 1] == b'/' && bytes[i..].starts_with(b"..;") => {
                return Err(PathError::DotSemicolon)
            }
            b'%' => {
                found.escapes = true;
                found.canonical = false;
            }
            b'/' if opts.merge_slashes && bytes.get(i + 1) == Some(&b'/') => {
                found.canonical = false;
            }
            b'.' if bytes[i - 1] == b'/' => {
                // "/." or "/.." followed by "/" or the end is a dot segment.
                let rest = &bytes[i + 1..];
                let dot = matches!(rest, [] | [b'/', ..] | [b'.'] | [b'.', b'/', ..]);
                if dot {
                    found.canonical = false;
                }
            }
            _ => {}
        }
    }
    Ok(found)
}

/// Steps 1, 2 and 5 after [`scan`]: the escapes decoded under the policy, and a `..;`
/// segment they spell refused under [`EncodedSlash::Reject`] (a raw one was refused
/// by the scan). Borrowed when the path holds no escape.
fn decode_scanned(
    path: &str,
    scan: Scan,
    opts: CanonicalOptions,
) -> Result<Cow<'_, str>, PathError> {
    if !scan.escapes {
        return Ok(Cow::Borrowed(path));
    }
    let decoded = decode_unreserved(path, opts)?;
    if opts.encoded_slash == EncodedSlash::Reject && has_dot_semicolon(&decoded) {
        return Err(PathError::DotSemicolon);
    }
    Ok(Cow::Owned(decoded))
}

const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode_unreserved(path: &str, opts: CanonicalOptions) -> Result<String, PathError> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    // Copy runs of non-escape text as &str slices to stay on char boundaries.
    let mut run_start = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            i += 1;
            continue;
        }
        out.push_str(&path[run_start..i]);
        let (Some(hi), Some(lo)) = (
            bytes.get(i + 1).copied().and_then(hex_val),
            bytes.get(i + 2).copied().and_then(hex_val),
        ) else {
            return Err(PathError::MalformedEscape);
        };
        let v = hi << 4 | lo;
        if v == 0 {
            return Err(PathError::Nul);
        }
        let slash = v == b'/' || v == b'\\';
        if slash && opts.encoded_slash == EncodedSlash::Reject {
            return Err(PathError::EncodedSlash);
        }
        if is_unreserved(v) || (slash && opts.encoded_slash == EncodedSlash::Decode) {
            out.push(char::from(v));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(hi)]));
            out.push(char::from(HEX[usize::from(lo)]));
        }
        i += 3;
        run_start = i;
    }
    out.push_str(&path[run_start..]);
    Ok(out)
}

/// Whether a segment of `path` starts with `..;`.
fn has_dot_semicolon(path: &str) -> bool {
    path.split('/').any(|seg| seg.starts_with("..;"))
}

/// RFC 3986 section 5.2.4 on an absolute path, segment by segment.
fn remove_dot_segments(path: &str, merge_slashes: bool) -> String {
    let mut segments: Vec<&str> = Vec::new();
    // Skip the leading "/"; every element of `segments` is preceded by "/" in the output.
    let mut parts = path[1..].split('/').peekable();
    let mut trailing_slash = false;
    while let Some(seg) = parts.next() {
        let last = parts.peek().is_none();
        match seg {
            "." => trailing_slash = last,
            ".." => {
                segments.pop();
                trailing_slash = last;
            }
            "" if merge_slashes => trailing_slash = last,
            _ => {
                segments.push(seg);
                trailing_slash = false;
            }
        }
    }
    let mut out = String::with_capacity(path.len());
    for seg in &segments {
        out.push('/');
        out.push_str(seg);
    }
    if trailing_slash || segments.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn narrowing_never_widens() {
        use EncodedSlash::{Decode, Keep, Reject};
        // (current, asked for, result)
        let table = [
            (Keep, Keep, Keep),
            (Keep, Reject, Reject),
            (Keep, Decode, Keep),
            (Reject, Keep, Reject),
            (Reject, Reject, Reject),
            (Reject, Decode, Reject),
            (Decode, Keep, Decode),
            (Decode, Reject, Reject),
            (Decode, Decode, Decode),
        ];
        for (current, policy, want) in table {
            let opts = CanonicalOptions::new()
                .encoded_slash(current)
                .merge_slashes(false);
            assert_eq!(
                opts.narrowed(policy),
                CanonicalOptions::new()
                    .encoded_slash(want)
                    .merge_slashes(false),
                "{current} narrowed to {policy}"
            );
        }
    }

    #[test]
    fn vectors() {
        let table: &[(&str, Result<&str, PathError>)] = &[
            ("", Ok("/")),
            ("/", Ok("/")),
            ("/a/b", Ok("/a/b")),
            ("/a/b/", Ok("/a/b/")),
            ("/a/./b/../c", Ok("/a/c")),
            ("/a/b/..", Ok("/a/")),
            ("/a/b/.", Ok("/a/b/")),
            ("/..", Ok("/")),
            ("/../..", Ok("/")),
            ("/../../etc/passwd", Ok("/etc/passwd")),
            ("/%2e%2e/etc", Ok("/etc")),
            ("/%2E%2E/%2e/x", Ok("/x")),
            ("/a/%2e%2e", Ok("/")),
            ("/a/.%2e/b", Ok("/b")),
            ("//", Ok("/")),
            ("//a//b//", Ok("/a/b/")),
            ("/a/.../b", Ok("/a/.../b")),
            ("/a/..b/c", Ok("/a/..b/c")),
            ("/.hidden", Ok("/.hidden")),
            ("/%7euser", Ok("/~user")),
            ("/%41%62%2D%5f", Ok("/Ab-_")),
            ("/a%2fb", Ok("/a%2Fb")),
            ("/a%2F..%2Fb", Ok("/a%2F..%2Fb")),
            ("/caf%c3%a9", Ok("/caf%C3%A9")),
            ("/a%20b", Ok("/a%20b")),
            ("/q?x", Ok("/q?x")),
            ("/a%00", Err(PathError::Nul)),
            ("/a\0b", Err(PathError::Nul)),
            ("/a%", Err(PathError::MalformedEscape)),
            ("/a%2", Err(PathError::MalformedEscape)),
            ("/a%zz", Err(PathError::MalformedEscape)),
            ("a/b", Err(PathError::NotAbsolute)),
            ("*", Err(PathError::NotAbsolute)),
        ];
        for (input, want) in table {
            let got = canonicalize(input);
            assert_eq!(got.as_deref().map_err(|e| *e), *want, "input {input:?}");
        }
    }

    #[test]
    fn options() {
        let reject = CanonicalOptions::new().encoded_slash(EncodedSlash::Reject);
        assert_eq!(
            canonicalize_with("/a%2fb", reject),
            Err(PathError::EncodedSlash)
        );
        assert_eq!(canonicalize_with("/a/b", reject).unwrap(), "/a/b");
        let keep = CanonicalOptions::new().merge_slashes(false);
        assert_eq!(canonicalize_with("//a//b/./", keep).unwrap(), "//a//b/");
        assert_eq!(CanonicalOptions::default(), CanonicalOptions::new());
    }

    #[test]
    fn escaped_slash_policies() {
        let reject = CanonicalOptions::new().encoded_slash(EncodedSlash::Reject);
        let decode = CanonicalOptions::new().encoded_slash(EncodedSlash::Decode);
        let keep = CanonicalOptions::new();
        let table: &[(&str, Result<&str, PathError>, Result<&str, PathError>, &str)] = &[
            // input, reject, decode, keep
            ("/a%2Fb", Err(PathError::EncodedSlash), Ok("/a/b"), "/a%2Fb"),
            ("/a%2fb", Err(PathError::EncodedSlash), Ok("/a/b"), "/a%2Fb"),
            (
                "/a%5Cb",
                Err(PathError::EncodedSlash),
                Ok("/a\\b"),
                "/a%5Cb",
            ),
            (
                "/a%5cb",
                Err(PathError::EncodedSlash),
                Ok("/a\\b"),
                "/a%5Cb",
            ),
            ("/a\\b", Err(PathError::Backslash), Ok("/a\\b"), "/a\\b"),
            (
                "/app/..;/admin",
                Err(PathError::DotSemicolon),
                Ok("/app/..;/admin"),
                "/app/..;/admin",
            ),
            ("/..;", Err(PathError::DotSemicolon), Ok("/..;"), "/..;"),
            (
                "/app/%2e%2e;/admin",
                Err(PathError::DotSemicolon),
                Ok("/app/..;/admin"),
                "/app/..;/admin",
            ),
            (
                "/a/..%2F..%2Fb",
                Err(PathError::EncodedSlash),
                Ok("/b"),
                "/a/..%2F..%2Fb",
            ),
            (
                "/a%2F%2Fb",
                Err(PathError::EncodedSlash),
                Ok("/a/b"),
                "/a%2F%2Fb",
            ),
            (
                "/a;v=1/b..;/.;c",
                Ok("/a;v=1/b..;/.;c"),
                Ok("/a;v=1/b..;/.;c"),
                "/a;v=1/b..;/.;c",
            ),
        ];
        for (input, want_reject, want_decode, want_keep) in table {
            let got = canonicalize_with(input, reject);
            assert_eq!(
                got.as_deref().map_err(|e| *e),
                *want_reject,
                "reject {input:?}"
            );
            let got = canonicalize_with(input, decode);
            assert_eq!(
                got.as_deref().map_err(|e| *e),
                *want_decode,
                "decode {input:?}"
            );
            assert_eq!(
                canonicalize_with(input, keep).unwrap(),
                *want_keep,
                "keep {input:?}"
            );
        }
        for name in ["keep", "reject", "decode"] {
            assert_eq!(name.parse::<EncodedSlash>().unwrap().to_string(), name);
        }
        assert!("strict".parse::<EncodedSlash>().is_err());
    }

    #[test]
    fn decode_path_is_the_decoding_without_resolving() {
        let reject = CanonicalOptions::new().encoded_slash(EncodedSlash::Reject);
        let decode = CanonicalOptions::new().encoded_slash(EncodedSlash::Decode);
        let keep = CanonicalOptions::new();
        let table: &[(&str, Result<&str, PathError>, Result<&str, PathError>, &str)] = &[
            // input, reject, decode, keep
            (
                "/dav/..%2f..%2fsecret",
                Err(PathError::EncodedSlash),
                Ok("/dav/../../secret"),
                "/dav/..%2F..%2Fsecret",
            ),
            (
                "/a%5Cb",
                Err(PathError::EncodedSlash),
                Ok("/a\\b"),
                "/a%5Cb",
            ),
            ("/a\\b", Err(PathError::Backslash), Ok("/a\\b"), "/a\\b"),
            (
                "/a/%2e%2e;/b",
                Err(PathError::DotSemicolon),
                Ok("/a/..;/b"),
                "/a/..;/b",
            ),
            (
                "/a//./b/../%7e",
                Ok("/a//./b/../~"),
                Ok("/a//./b/../~"),
                "/a//./b/../~",
            ),
            ("", Ok(""), Ok(""), ""),
        ];
        for (input, want_reject, want_decode, want_keep) in table {
            let got = decode_path(input, reject);
            assert_eq!(
                got.as_deref().map_err(|e| *e),
                *want_reject,
                "reject {input:?}"
            );
            let got = decode_path(input, decode);
            assert_eq!(
                got.as_deref().map_err(|e| *e),
                *want_decode,
                "decode {input:?}"
            );
            assert_eq!(
                decode_path(input, keep).unwrap(),
                *want_keep,
                "keep {input:?}"
            );
        }
        for (input, err) in [
            ("/a%zz", PathError::MalformedEscape),
            ("/a%00", PathError::Nul),
            ("a", PathError::NotAbsolute),
        ] {
            assert_eq!(decode_path(input, keep), Err(err), "{input:?}");
        }
        assert!(matches!(
            decode_path("/a/../b", decode),
            Ok(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn canonical_input_is_borrowed() {
        for p in ["/", "/a/b", "/a.b/c.d/", "/.x/..y"] {
            assert!(matches!(canonicalize(p), Ok(Cow::Borrowed(_))), "{p}");
        }
        assert!(matches!(canonicalize("/a/../b"), Ok(Cow::Owned(_))));
    }

    #[test]
    fn errors_are_bad_requests() {
        let err: Error = PathError::Nul.into();
        assert_eq!(err.kind(), ErrorKind::BadRequest);
        assert_eq!(err.to_string(), "nul byte in path");
    }

    fn path_strategy() -> impl Strategy<Value = String> {
        let seg = prop_oneof![
            Just(String::from(".")),
            Just(String::from("..")),
            Just(String::from("%2e%2e")),
            Just(String::from("%2E")),
            Just(String::from("")),
            Just(String::from("%2f")),
            Just(String::from("%5C")),
            Just(String::from("..;")),
            Just(String::from("\\")),
            Just(String::from("%7E")),
            "[a-zA-Z0-9._~%-]{0,6}",
        ];
        prop::collection::vec(seg, 0..8).prop_map(|segs| format!("/{}", segs.join("/")))
    }

    proptest! {
        #[test]
        fn idempotent(path in path_strategy()) {
            for policy in [EncodedSlash::Keep, EncodedSlash::Reject, EncodedSlash::Decode] {
                let opts = CanonicalOptions::new().encoded_slash(policy);
                if let Ok(once) = canonicalize_with(&path, opts) {
                    let twice = canonicalize_with(&once, opts).unwrap();
                    prop_assert_eq!(&*once, &*twice);
                }
            }
        }

        #[test]
        fn decoding_then_canonicalising_is_canonicalising(path in path_strategy()) {
            for policy in [EncodedSlash::Keep, EncodedSlash::Reject, EncodedSlash::Decode] {
                let opts = CanonicalOptions::new().encoded_slash(policy);
                let direct = canonicalize_with(&path, opts);
                match decode_path(&path, opts) {
                    Ok(decoded) => {
                        // Canonicalising is decoding, then resolving dot segments.
                        let resolved = remove_dot_segments(&decoded, opts.merge_slashes);
                        prop_assert_eq!(direct.map(|c| c.into_owned()), Ok(resolved));
                    }
                    Err(e) => prop_assert_eq!(direct, Err(e)),
                }
            }
        }

        #[test]
        fn never_escapes_the_root(path in path_strategy()) {
            if let Ok(out) = canonicalize(&path) {
                prop_assert!(out.starts_with('/'));
                for seg in out.split('/') {
                    prop_assert!(seg != ".." && seg != ".", "dot segment left in {}", out);
                }
                prop_assert!(!out.contains("//"));
            }
        }

        #[test]
        fn never_panics(path in any::<String>()) {
            let _ = canonicalize(&path);
            let _ = canonicalize(&format!("/{path}"));
        }
    }
}
