//! The streaming HTML rewriter: URL attributes of chosen elements (`a[href]`,
//! `form[action]`, ...) moved from the remote root to the local one.
//!
//! A small tokenizer that follows the WHATWG states that matter for finding tags:
//! text, comments (`<!-- -->`), bogus comments (`<!...>`, `<?...>`), end tags,
//! raw-text elements (`script`, `style`, `textarea`, `title`, ...) whose content is
//! never taken for markup, and `plaintext`. Only start tags of configured elements
//! have their attributes looked at; everything else is passed on byte for byte. A tag
//! cut by the end of a buffer is held back (capped by the token limit); a tag longer
//! than the cap is passed on unrewritten, with a log line. Attribute values are decoded
//! for the five XML entities and numeric references; a value with any other named
//! reference is left alone, so a rewrite never changes what a browser would decode.
//! HTML is never "malformed": there is no error path except the cap.

mod tag;

use std::fmt;

use bytes::{Bytes, BytesMut};

use self::tag::{name_end, scan, Attr, Scan, TagState};
use crate::body::{hold, join, keep_padding, Limits, Mapper, RewriteError, Splicer};

/// Elements whose content is text up to their end tag.
const RAW_TEXT: &[&str] = &[
    "script", "style", "xmp", "iframe", "noembed", "noframes", "textarea", "title",
];

/// The URL attributes rewritten by default.
pub(crate) const DEFAULT_ATTRIBUTES: &[(&str, &str)] = &[
    ("a", "href"),
    ("form", "action"),
    ("link", "href"),
    ("img", "src"),
    ("script", "src"),
];

/// Where the tokenizer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Data,
    /// Inside `<!-- -->`.
    Comment,
    /// Inside `<!...>` or `<?...>`.
    Bogus,
    /// Inside a raw-text element: its name (an index into [`RAW_TEXT`]).
    RawText(usize),
    /// After `<plaintext>`: the rest is text.
    Plaintext,
    /// Inside a tag too long to rewrite, passed through.
    SkipTag(TagState),
}

/// What one step of the tokenizer did.
enum Step {
    /// Continue at this index.
    At(usize),
    /// The buffer ends inside a token that starts at this index.
    Incomplete(usize),
}

/// The streaming HTML rewriter. See the [module docs](self).
pub(crate) struct HtmlRewriter {
    mapper: Mapper,
    attributes: std::sync::Arc<[(String, String)]>,
    limits: Limits,
    state: State,
    pending: BytesMut,
    attrs: Vec<Attr>,
}

impl fmt::Debug for HtmlRewriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HtmlRewriter")
            .field("mapper", &self.mapper)
            .field("state", &self.state)
            .field("held", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl HtmlRewriter {
    /// `attributes` are lowercase `(element, attribute)` pairs.
    pub(crate) fn new(
        mapper: Mapper,
        attributes: std::sync::Arc<[(String, String)]>,
        limits: Limits,
    ) -> Self {
        Self {
            mapper,
            attributes,
            limits,
            state: State::Data,
            pending: BytesMut::new(),
            attrs: Vec::new(),
        }
    }

    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.pending.len()
    }

    pub(crate) fn feed(&mut self, input: Bytes) -> Result<Bytes, RewriteError> {
        if input.is_empty() {
            return Ok(input);
        }
        let data = join(&mut self.pending, input);
        let (out, consumed) = self.process(&data, false);
        hold(&mut self.pending, &data, consumed, self.limits.max_token)?;
        Ok(out)
    }

    pub(crate) fn finish(&mut self) -> Result<Bytes, RewriteError> {
        let data = self.pending.split().freeze();
        Ok(self.process(&data, true).0)
    }

    fn process(&mut self, data: &Bytes, last: bool) -> (Bytes, usize) {
        let mut splice = Splicer::new(data);
        let mut pos = 0;
        while pos < data.len() {
            match self.step(data, pos, &mut splice) {
                Step::At(next) => pos = next,
                Step::Incomplete(at) if last => {
                    // The document ends inside a token: pass it on as it is.
                    pos = data.len().max(at);
                }
                Step::Incomplete(at) if data.len() - at > self.limits.max_token => {
                    pos = self.skip_oversized(data, at);
                }
                Step::Incomplete(at) => {
                    pos = at;
                    break;
                }
            }
        }
        (splice.finish(pos), pos)
    }

    fn step(&mut self, data: &[u8], pos: usize, splice: &mut Splicer<'_>) -> Step {
        let rest = &data[pos..];
        match self.state {
            State::Data => match memchr::memchr(b'<', rest) {
                Some(off) => self.markup(data, pos + off, splice),
                None => Step::At(data.len()),
            },
            State::Comment => match comment_end(rest) {
                Some(end) => {
                    self.state = State::Data;
                    Step::At(pos + end)
                }
                // Keep what could be the start of `--!>`.
                None => Step::Incomplete(data.len().saturating_sub(3).max(pos)),
            },
            State::Bogus => match memchr::memchr(b'>', rest) {
                Some(off) => {
                    self.state = State::Data;
                    Step::At(pos + off + 1)
                }
                None => Step::At(data.len()),
            },
            State::RawText(which) => self.raw_text(data, pos, which),
            State::Plaintext => Step::At(data.len()),
            State::SkipTag(from) => match scan(data, pos, from, None) {
                Scan::End(end) => {
                    self.state = State::Data;
                    Step::At(end)
                }
                Scan::More(state) => {
                    self.state = State::SkipTag(state);
                    Step::At(data.len())
                }
            },
        }
    }

    /// At a `<` in text.
    fn markup(&mut self, data: &[u8], lt: usize, splice: &mut Splicer<'_>) -> Step {
        let Some(&next) = data.get(lt + 1) else {
            return Step::Incomplete(lt);
        };
        match next {
            b'!' => {
                let head = &data[lt..data.len().min(lt + 4)];
                if head.len() < 4 && b"<!--".starts_with(head) {
                    return Step::Incomplete(lt);
                }
                self.state = if head == b"<!--" {
                    State::Comment
                } else {
                    State::Bogus
                };
                Step::At(lt + 2)
            }
            b'?' => {
                self.state = State::Bogus;
                Step::At(lt + 2)
            }
            b'/' => match data.get(lt + 2) {
                None => Step::Incomplete(lt),
                Some(b'>') => Step::At(lt + 3),
                Some(b) if b.is_ascii_alphabetic() => {
                    match scan(data, lt + 2, TagState::Name, None) {
                        Scan::End(end) => Step::At(end),
                        Scan::More(_) => Step::Incomplete(lt),
                    }
                }
                Some(_) => {
                    self.state = State::Bogus;
                    Step::At(lt + 2)
                }
            },
            b if b.is_ascii_alphabetic() => self.start_tag(data, lt, splice),
            _ => Step::At(lt + 1),
        }
    }

    fn start_tag(&mut self, data: &[u8], lt: usize, splice: &mut Splicer<'_>) -> Step {
        let Some(name_end) = name_end(data, lt + 1) else {
            return Step::Incomplete(lt);
        };
        let name = &data[lt + 1..name_end];
        let wanted = self
            .attributes
            .iter()
            .any(|(element, _)| name.eq_ignore_ascii_case(element.as_bytes()));
        self.attrs.clear();
        let attrs = wanted.then_some(&mut self.attrs);
        let end = match scan(data, name_end, TagState::Name, attrs) {
            Scan::End(end) => end,
            Scan::More(_) => return Step::Incomplete(lt),
        };
        if wanted {
            self.rewrite_attributes(data, name, splice);
        }
        if let Some(which) = RAW_TEXT
            .iter()
            .position(|t| name.eq_ignore_ascii_case(t.as_bytes()))
        {
            self.state = State::RawText(which);
        } else if name.eq_ignore_ascii_case(b"plaintext") {
            self.state = State::Plaintext;
        }
        Step::At(end)
    }

    fn rewrite_attributes(&self, data: &[u8], element: &[u8], splice: &mut Splicer<'_>) {
        for attr in &self.attrs {
            let name = &data[attr.name.clone()];
            let wanted = self.attributes.iter().any(|(e, a)| {
                element.eq_ignore_ascii_case(e.as_bytes())
                    && name.eq_ignore_ascii_case(a.as_bytes())
            });
            if !wanted {
                continue;
            }
            let Some(value) = decode(&data[attr.value.clone()]) else {
                continue;
            };
            let Some(new) = self.mapper.map(value.trim_matches(is_html_ws)) else {
                continue;
            };
            let encoded = encode(&keep_padding(&value, &new, is_html_ws), attr.quote);
            splice.replace(attr.value.clone(), encoded.as_bytes());
        }
    }

    /// Inside a raw-text element: look for its end tag.
    fn raw_text(&mut self, data: &[u8], pos: usize, which: usize) -> Step {
        let name = RAW_TEXT.get(which).map_or(&b""[..], |n| n.as_bytes());
        let mut i = pos;
        while let Some(off) = memchr::memchr(b'<', &data[i..]) {
            let lt = i + off;
            let after = lt + 2 + name.len();
            let Some(&end) = data.get(after) else {
                let have = &data[lt..];
                let want = [b"</".as_slice(), name].concat();
                let partial = have.len() <= want.len()
                    && have
                        .iter()
                        .zip(&want)
                        .all(|(a, b)| a.eq_ignore_ascii_case(b));
                if partial {
                    return Step::Incomplete(lt);
                }
                i = lt + 1;
                continue;
            };
            let is_end = data[lt + 1] == b'/'
                && data[lt + 2..after].eq_ignore_ascii_case(name)
                && matches!(end, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>');
            if is_end {
                self.state = State::Data;
                return Step::At(lt);
            }
            i = lt + 1;
        }
        Step::At(data.len())
    }

    /// A tag longer than the cap: passed through, its end found by scanning on.
    fn skip_oversized(&mut self, data: &[u8], at: usize) -> usize {
        tracing::warn!(
            limit = self.limits.max_token,
            "html tag longer than the token cap passed through unrewritten"
        );
        let from = name_end(data, at + 1).unwrap_or(data.len());
        match scan(data, from, TagState::Name, None) {
            Scan::End(end) => end,
            Scan::More(state) => {
                self.state = State::SkipTag(state);
                data.len()
            }
        }
    }
}

/// The end of a comment (after `-->` or `--!>`, whichever comes first).
fn comment_end(rest: &[u8]) -> Option<usize> {
    let a = memchr::memmem::find(rest, b"-->").map(|i| i + 3);
    let b = memchr::memmem::find(rest, b"--!>").map(|i| i + 4);
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn is_html_ws(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// Decodes an attribute value's character references; `None` when it holds a named
/// reference other than the five XML ones (left alone rather than guessed).
fn decode(raw: &[u8]) -> Option<String> {
    let raw = std::str::from_utf8(raw).ok()?;
    if !raw.contains('&') {
        return Some(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let semi = rest.find(';').filter(|&i| {
            i > 1
                && rest[1..i]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'#')
        });
        let Some(semi) = semi else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        out.push(reference(&rest[1..semi])?);
        rest = &rest[semi + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn reference(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// Encodes a value for its quotes (an unquoted value gets double quotes).
fn encode(value: &str, quote: Option<u8>) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    if quote.is_none() {
        out.push('"');
    }
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' if quote != Some(b'\'') => out.push_str("&quot;"),
            '\'' if quote == Some(b'\'') => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    if quote.is_none() {
        out.push('"');
    }
    out
}

#[cfg(test)]
mod tests;
