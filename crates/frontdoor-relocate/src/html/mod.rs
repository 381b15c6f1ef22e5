//! The streaming HTML rewriter: URL attributes of chosen elements (`a[href]`,
//! `form[action]`, ...) moved from the remote root to the local one, and the URL in
//! the `content` of `<meta http-equiv="refresh">` (`http-equiv` matched ASCII
//! case-insensitively), found and moved as in a `Refresh` response header, the rest
//! of `content` (delay, spacing, quotes, `URL=`'s case) kept as it was.
//!
//! The tokenizing is [`lol_html`]'s (Cloudflare's streaming rewriter, which follows
//! the WHATWG tokenizer states and simulates just enough of tree construction to
//! know raw text, `plaintext` and foreign content). Each configured pair becomes a
//! selector `element[attribute]`; its handler moves the attribute's URL, and only a
//! start tag whose URL changed is serialized anew (with its changed value
//! double-quoted); everything else is passed on byte for byte. Each frame is written
//! to the rewriter as it comes and what lol_html emits for it is sent on: a tag cut
//! by a frame boundary waits inside lol_html for its end.
//!
//! Attribute values are decoded for the five XML entities and numeric references; a
//! value with any other named reference, or that is not UTF-8, is left alone, so a
//! rewrite never changes what a browser would decode. The parser is not strict: on the
//! rare markup that only a full tree builder could place (`<select><xmp>`), lol_html
//! makes its best guess instead of failing (HTML is never "malformed"). The only error is the memory cap (lol_html's
//! [`MemorySettings`]): [`max_token`](crate::RelocateLayer::max_token) bytes for
//! markup cut by a frame boundary, as much again for lol_html's stack of open
//! elements (about 110 bytes each, and it closes none implicitly: ten thousand
//! `<li>` without `</li>` in one list are ten thousand open elements until `</ul>`),
//! plus one 4 KiB piece of input; past it the rewrite aborts with
//! [`RewriteErrorKind::TooLarge`].

use std::{
    borrow::Cow,
    fmt::{self, Write as _},
    sync::Arc,
};

use bytes::{Bytes, BytesMut};
use lol_html::{errors::RewritingError, send, MemorySettings, OutputSink, Selector as LolSelector};
use parking_lot::Mutex;

use crate::{
    body::{
        error::{RewriteError, RewriteErrorKind},
        limits::Limits,
        mapper::{keep_padding, Mapper},
    },
    headers::response::refresh,
};

/// The URL attributes rewritten by default.
pub(crate) const DEFAULT_ATTRIBUTES: &[(&str, &str)] = &[
    ("a", "href"),
    ("form", "action"),
    ("link", "href"),
    ("img", "src"),
    ("script", "src"),
];

/// The elements whose `content` may hold a refresh URL; the handler checks that
/// `http-equiv` is `refresh`.
const META_REFRESH: &str = "meta[http-equiv][content]";

/// What lol_html allocates up front for markup cut by a frame boundary (its default),
/// unless the token cap is smaller.
const PREALLOCATED: usize = 1024;

/// The largest piece of a frame written to lol_html at once. While it holds markup
/// cut by a boundary it appends the next write to it, so its memory need is the held
/// markup plus one piece, whatever the frame sizes.
const PIECE: usize = 4096;

/// Where lol_html writes its output; drained after every write.
#[derive(Clone, Debug, Default)]
struct Sink(Arc<Mutex<BytesMut>>);

impl Sink {
    /// Everything written since the last call.
    fn take(&self) -> Bytes {
        self.0.lock().split().freeze()
    }
}

impl OutputSink for Sink {
    fn handle_chunk(&mut self, chunk: &[u8]) {
        if !chunk.is_empty() {
            self.0.lock().extend_from_slice(chunk);
        }
    }
}

/// The streaming HTML rewriter. See the [module docs](self).
pub(crate) struct HtmlRewriter {
    /// `None` once it has finished or failed (lol_html must not be used again then).
    inner: Option<send::HtmlRewriter<'static, Sink>>,
    out: Sink,
    /// lol_html's memory cap, in bytes.
    budget: usize,
}

impl fmt::Debug for HtmlRewriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HtmlRewriter")
            .field("active", &self.inner.is_some())
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl HtmlRewriter {
    /// `attributes` are lowercase `(element, attribute)` pairs.
    pub(crate) fn new(mapper: Mapper, attributes: &[(String, String)], limits: Limits) -> Self {
        // The held markup, the piece appended to it, and the open elements.
        let budget = limits.max_token.saturating_mul(2).saturating_add(PIECE);
        let memory = MemorySettings::new()
            .with_preallocated_parsing_buffer_size(PREALLOCATED.min(limits.max_token))
            .with_max_allowed_memory_usage(budget);
        let mut settings = send::Settings::new_send()
            .with_memory_settings(memory)
            .with_strict(false);
        let mapper = Arc::new(mapper);
        for (element, attribute) in attributes {
            let Some(selector) = selector(element, attribute) else {
                continue;
            };
            let (mapper, attribute) = (Arc::clone(&mapper), attribute.clone());
            let handlers = send::ElementContentHandlers::default().element(
                move |el: &mut send::Element<'_, '_>| {
                    relocate(el, &attribute, &mapper);
                    Ok(())
                },
            );
            settings = settings.append_element_content_handler((Cow::Owned(selector), handlers));
        }
        match META_REFRESH.parse::<LolSelector>() {
            Ok(selector) => {
                let handlers = send::ElementContentHandlers::default().element(
                    move |el: &mut send::Element<'_, '_>| {
                        relocate_refresh(el, &mapper);
                        Ok(())
                    },
                );
                settings =
                    settings.append_element_content_handler((Cow::Owned(selector), handlers));
            }
            Err(e) => tracing::warn!(error = %e, "meta refresh selector rejected"),
        }
        let out = Sink::default();
        Self {
            inner: Some(send::HtmlRewriter::new(settings, out.clone())),
            out,
            budget,
        }
    }

    /// Input bytes held back. lol_html keeps markup cut by a frame boundary inside
    /// (bounded by its memory cap) and does not say how much; this reports none.
    #[cfg(test)]
    pub(crate) const fn held(&self) -> usize {
        0
    }

    /// Rewrites `input`; a tag it leaves incomplete comes out with a later call.
    pub(crate) fn feed(&mut self, input: Bytes) -> Result<Bytes, RewriteError> {
        if input.is_empty() {
            return Ok(input);
        }
        let inner = self.inner.as_mut().ok_or_else(spent)?;
        for piece in input.chunks(PIECE) {
            if let Err(e) = inner.write(piece) {
                self.inner = None;
                return Err(self.error(&e));
            }
        }
        Ok(self.out.take())
    }

    /// The end of the document: whatever lol_html still holds (markup cut by the end
    /// is passed on as it is).
    pub(crate) fn finish(&mut self) -> Result<Bytes, RewriteError> {
        let inner = self.inner.take().ok_or_else(spent)?;
        inner.end().map_err(|e| self.error(&e))?;
        Ok(self.out.take())
    }

    fn error(&self, e: &RewritingError) -> RewriteError {
        match e {
            RewritingError::MemoryLimitExceeded(_) => RewriteError::new(
                RewriteErrorKind::TooLarge,
                format!(
                    "the html rewriter needs more than {} bytes (markup cut by a frame \
                     boundary longer than the token cap, or too many open elements)",
                    self.budget
                ),
            ),
            _ => RewriteError::malformed(format_args!("html: {e}")),
        }
    }
}

/// The error of a rewriter used after it finished or failed.
fn spent() -> RewriteError {
    RewriteError::malformed("html rewriter used after it finished or failed")
}

/// The lol_html selector of one `(element, attribute)` pair; `None` (with a log line)
/// for a pair that cannot be one.
fn selector(element: &str, attribute: &str) -> Option<LolSelector> {
    if element.is_empty() || attribute.is_empty() {
        tracing::warn!(
            element,
            attribute,
            "empty html element or attribute name ignored"
        );
        return None;
    }
    let css = format!("{}[{}]", css_ident(element), css_ident(attribute));
    match css.parse() {
        Ok(selector) => Some(selector),
        Err(e) => {
            tracing::warn!(element, attribute, error = %e, "html attribute pair ignored");
            None
        }
    }
}

/// `name` as a CSS identifier: every character that could not stand there as it is
/// (any ASCII one but letters, `_`, and digits or `-` after the first) is escaped.
fn css_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        let plain = c.is_ascii_alphabetic()
            || c == '_'
            || !c.is_ascii()
            || (i > 0 && (c.is_ascii_digit() || c == '-'));
        if plain {
            out.push(c);
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\{:x} ", u32::from(c));
        }
    }
    out
}

/// Moves the URL of `el`'s `attribute`, when it is one of ours.
fn relocate(el: &mut send::Element<'_, '_>, attribute: &str, mapper: &Mapper) {
    rewrite_attribute(el, attribute, |url| mapper.map(url));
}

/// Moves the URL in the `content` of a `<meta http-equiv="refresh">`, when it is one
/// of ours, as a `Refresh` response header's.
fn relocate_refresh(el: &mut send::Element<'_, '_>, mapper: &Mapper) {
    let is_refresh = el
        .get_attribute("http-equiv")
        .is_some_and(|v| v.eq_ignore_ascii_case("refresh"));
    if is_refresh {
        rewrite_attribute(el, "content", |value| {
            refresh(value, |url| Ok(mapper.map(url))).ok().flatten()
        });
    }
}

/// Replaces `el`'s `attribute` with what `f` makes of its decoded value (without the
/// surrounding whitespace, which is kept), when `f` changes it and the value is
/// exactly the attribute's bytes.
fn rewrite_attribute(
    el: &mut send::Element<'_, '_>,
    attribute: &str,
    f: impl FnOnce(&str) -> Option<String>,
) {
    let Some(value) = el.get_attribute(attribute) else {
        return;
    };
    let Some(decoded) = decode(&value) else {
        return;
    };
    let text = decoded.trim_matches(is_html_ws);
    let Some(new) = f(text) else {
        return;
    };
    if !is_exact(el, attribute, &value) {
        return;
    }
    let new = if text.len() == decoded.len() {
        new
    } else {
        keep_padding(&decoded, &new, is_html_ws)
    };
    if let Err(e) = el.set_attribute(attribute, &encode(&new)) {
        tracing::warn!(attribute, error = %e, "html attribute left as it was");
    }
}

/// Whether `value` is exactly the attribute's bytes (lol_html decodes them as UTF-8,
/// replacing what is not and dropping a byte order mark).
fn is_exact(el: &send::Element<'_, '_>, attribute: &str, value: &str) -> bool {
    let raw_len = el
        .attributes()
        .iter()
        .find(|a| a.name() == attribute)
        .and_then(|a| a.value_source_location())
        .map(|at| at.bytes().len());
    !value.contains('\u{fffd}') && raw_len == Some(value.len())
}

fn is_html_ws(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// Decodes an attribute value's character references; `None` when it holds a named
/// reference other than the five XML ones (left alone rather than guessed).
fn decode(raw: &str) -> Option<Cow<'_, str>> {
    if !raw.contains('&') {
        return Some(Cow::Borrowed(raw));
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
    Some(Cow::Owned(out))
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

/// Encodes a value for lol_html, which writes it between double quotes (and would
/// escape a `"` itself, but not a `&`).
fn encode(value: &str) -> Cow<'_, str> {
    if !value.contains(['&', '"']) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests;
