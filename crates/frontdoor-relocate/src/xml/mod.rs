//! The streaming XML rewriter: quick-xml events over whatever input has arrived, a
//! namespace resolver that outlives each buffer, and output that is the input byte
//! for byte except for the URLs it moves.
//!
//! Each call parses the bytes that arrived (plus the held-back tail) with a fresh
//! quick-xml slice reader. Every event is a contiguous span of the input, so output
//! is built by splicing: untouched spans are copied (or passed on zero-copy), a URL
//! element's text or a URL attribute's value is replaced. An event cut by the end of
//! the buffer (quick-xml's "unclosed" errors, a dangling `&`) is held back, capped at
//! the token limit, and parsed again with the next input. Namespaces are resolved
//! with quick-xml's `NamespaceResolver`, pushed and popped per element, so
//! `{DAV:}href` is found under any prefix or the default namespace. End tags are
//! matched against a stack of open names; the depth cap bounds that stack, and the
//! token cap bounds the bytes the open elements' names and namespace declarations
//! hold together. DTDs are
//! passed through, never processed; only the five predefined entities and character
//! references are decoded, and only inside URL text.

mod rules;

use std::fmt;

use bytes::{Bytes, BytesMut};
use quick_xml::{
    errors::{Error as XmlError, IllFormedError},
    escape::{escape, partial_escape, resolve_predefined_entity, unescape},
    events::{BytesRef, BytesStart, Event},
    name::{NamespaceResolver, ResolveResult},
    Reader,
};

pub(crate) use self::rules::XmlRules;
use crate::body::{
    error::{RewriteError, RewriteErrorKind},
    limits::Limits,
    mapper::{keep_padding, Mapper},
    splice::{hold, join, Splicer},
};

/// Whitespace as XML defines it.
fn is_xml_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The text of a URL element being collected (buffers reused between elements).
#[derive(Debug, Default)]
struct Collect {
    /// Whether a URL element is open.
    active: bool,
    /// The raw content, emitted as is when the URL is not moved.
    raw: Vec<u8>,
    /// The decoded content.
    text: Vec<u8>,
}

impl Collect {
    fn start(&mut self) {
        self.active = true;
        self.raw.clear();
        self.text.clear();
    }
}

/// The qualified names of the open elements, for end-tag matching, and a bound on
/// the bytes their namespace declarations hold in the resolver.
#[derive(Debug, Default)]
struct NameStack {
    buf: Vec<u8>,
    /// Where each name starts in `buf`, and its element's declaration bytes.
    starts: Vec<(usize, usize)>,
    declarations: usize,
}

impl NameStack {
    fn depth(&self) -> usize {
        self.starts.len()
    }

    /// What the open elements hold: names and (at most) namespace declarations.
    fn held(&self) -> usize {
        self.buf.len() + self.declarations
    }

    fn push(&mut self, name: &[u8], declarations: usize) {
        self.starts.push((self.buf.len(), declarations));
        self.buf.extend_from_slice(name);
        self.declarations += declarations;
    }

    /// Pops the top name; `false` when it is not `name` or nothing is open.
    fn pop(&mut self, name: &[u8]) -> bool {
        match self.starts.pop() {
            Some((start, declarations)) => {
                let ok = self.buf.get(start..) == Some(name);
                self.buf.truncate(start);
                self.declarations -= declarations;
                ok
            }
            None => false,
        }
    }
}

/// The streaming XML rewriter. See the [module docs](self).
pub(crate) struct XmlRewriter {
    mapper: Mapper,
    rules: &'static XmlRules,
    limits: Limits,
    ns: NamespaceResolver,
    names: NameStack,
    pending: BytesMut,
    collect: Collect,
    started: bool,
    passthrough: bool,
}

impl fmt::Debug for XmlRewriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XmlRewriter")
            .field("mapper", &self.mapper)
            .field("depth", &self.names.depth())
            .field("held", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl XmlRewriter {
    pub(crate) fn new(mapper: Mapper, rules: &'static XmlRules, limits: Limits) -> Self {
        Self {
            mapper,
            rules,
            limits,
            ns: NamespaceResolver::default(),
            names: NameStack::default(),
            pending: BytesMut::new(),
            collect: Collect::default(),
            started: false,
            passthrough: false,
        }
    }

    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.pending.len() + self.collect.raw.len() + self.collect.text.len()
    }

    pub(crate) fn feed(&mut self, input: Bytes) -> Result<Bytes, RewriteError> {
        if self.passthrough || input.is_empty() {
            return Ok(input);
        }
        let data = join(&mut self.pending, input);
        if !self.started {
            self.started = true;
            // UTF-16 (by its byte order mark) is not parsed: passed on untouched.
            if data.starts_with(&[0xfe, 0xff]) || data.starts_with(&[0xff, 0xfe]) {
                tracing::debug!("utf-16 xml body passed through unrewritten");
                self.passthrough = true;
                return Ok(data);
            }
        }
        let (out, consumed) = self.process(&data, false)?;
        hold(&mut self.pending, &data, consumed, self.limits.max_token)?;
        Ok(out)
    }

    pub(crate) fn finish(&mut self) -> Result<Bytes, RewriteError> {
        let data = self.pending.split().freeze();
        if self.passthrough {
            return Ok(data);
        }
        let (out, _) = self.process(&data, true)?;
        if self.names.depth() > 0 {
            return Err(RewriteError::malformed(
                "the document ends inside an element",
            ));
        }
        Ok(out)
    }

    /// Rewrites the complete events of `data`; returns the output and how many bytes
    /// were consumed (the rest is an incomplete event, unless `last`).
    fn process(&mut self, data: &Bytes, last: bool) -> Result<(Bytes, usize), RewriteError> {
        let mut reader = Reader::from_reader(&data[..]);
        let config = reader.config_mut();
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
        let mut splice = Splicer::new(data);
        let mut pos = 0;
        loop {
            let event = match reader.read_event() {
                Ok(Event::Eof) => break,
                Ok(event) => event,
                Err(e) if !last && incomplete(&e, data, pos) => break,
                Err(e) => return Err(RewriteError::malformed(e)),
            };
            let end = usize::try_from(reader.buffer_position())
                .map_err(|_| RewriteError::malformed("position overflow"))?;
            self.on_event(event, pos, end, data, &mut splice)?;
            pos = end;
        }
        Ok((splice.finish(pos), pos))
    }

    fn on_event(
        &mut self,
        event: Event<'_>,
        start: usize,
        end: usize,
        data: &Bytes,
        splice: &mut Splicer<'_>,
    ) -> Result<(), RewriteError> {
        match event {
            Event::Start(e) => self.on_start(&e, start, data, splice, false),
            Event::Empty(e) => self.on_start(&e, start, data, splice, true),
            Event::End(e) => self.on_end(e.name().as_ref(), start, splice),
            Event::Text(e) => self.on_content(&e, start, end, data, splice),
            Event::CData(e) => self.on_content(&e, start, end, data, splice),
            Event::GeneralRef(_) if !self.collect.active => Ok(()),
            Event::GeneralRef(e) => match decode_ref(&e)? {
                Some(decoded) => self.on_content(decoded.as_bytes(), start, end, data, splice),
                None => Err(RewriteError::new(
                    RewriteErrorKind::Encoding,
                    "an entity other than the predefined five in url text",
                )),
            },
            Event::Comment(_) | Event::PI(_) => {
                self.poison(start, splice);
                Ok(())
            }
            Event::Decl(_) | Event::DocType(_) | Event::Eof => Ok(()),
        }
    }

    /// Markup inside a URL element: that element is not a plain URL, leave it be.
    fn poison(&mut self, at: usize, splice: &mut Splicer<'_>) {
        if self.collect.active {
            tracing::debug!("url element with markup inside left unrewritten");
            splice.replace(at..at, &self.collect.raw);
            self.collect.active = false;
        }
    }

    fn on_start(
        &mut self,
        e: &BytesStart<'_>,
        start: usize,
        data: &Bytes,
        splice: &mut Splicer<'_>,
        empty: bool,
    ) -> Result<(), RewriteError> {
        let depth = self.names.depth() + 1;
        if depth > self.limits.max_depth {
            return Err(RewriteError::new(
                RewriteErrorKind::TooDeep,
                format!("more than {} levels", self.limits.max_depth),
            ));
        }
        self.poison(start, splice);
        self.ns.push(e).map_err(RewriteError::malformed)?;
        // Resolve the namespace only for elements that could matter.
        let name = e.name();
        let maybe_url = !empty && self.rules.has_local(name.local_name().as_ref());
        let maybe_attributes =
            self.rules.any_attributes() && !e.attributes_raw().trim_ascii().is_empty();
        let mut url_element = false;
        if maybe_url || maybe_attributes {
            let (res, local) = self.ns.resolve_element(name);
            let ns = match res {
                ResolveResult::Bound(n) => Some(n.0),
                _ => None,
            };
            url_element = maybe_url && self.rules.is_url_element(ns, local.as_ref());
            if maybe_attributes && self.rules.has_attributes(ns) {
                self.rewrite_attributes(e, ns, data, splice)?;
            }
        }
        if empty {
            self.ns.pop();
        } else {
            // An upper bound on what this element's declarations add to the resolver.
            let raw = e.attributes_raw();
            let declarations = memchr::memmem::find(raw, b"xmlns").map_or(0, |_| raw.len());
            self.names.push(e.name().as_ref(), declarations);
            if self.names.held() > self.limits.max_token {
                return Err(RewriteError::new(
                    RewriteErrorKind::TooLarge,
                    format!(
                        "open elements hold more than {} bytes",
                        self.limits.max_token
                    ),
                ));
            }
        }
        if url_element {
            self.collect.start();
        }
        Ok(())
    }

    fn rewrite_attributes(
        &self,
        e: &BytesStart<'_>,
        ns: Option<&[u8]>,
        data: &Bytes,
        splice: &mut Splicer<'_>,
    ) -> Result<(), RewriteError> {
        for attr in e.attributes() {
            let attr = attr.map_err(RewriteError::malformed)?;
            if attr.key.prefix().is_some()
                || !self
                    .rules
                    .is_url_attribute(ns, attr.key.local_name().as_ref())
            {
                continue;
            }
            let encoding = |err: &dyn fmt::Display| {
                RewriteError::new(RewriteErrorKind::Encoding, err.to_string())
            };
            let raw = std::str::from_utf8(&attr.value).map_err(|e| encoding(&e))?;
            let value = unescape(raw).map_err(|e| encoding(&e))?;
            let Some(new) = self.mapper.map(value.trim_matches(is_xml_ws)) else {
                continue;
            };
            let Some(range) = span_in(data, &attr.value) else {
                continue;
            };
            splice.replace(
                range,
                keep_padding(&value, &escape(new), is_xml_ws).as_bytes(),
            );
        }
        Ok(())
    }

    fn on_end(
        &mut self,
        name: &[u8],
        start: usize,
        splice: &mut Splicer<'_>,
    ) -> Result<(), RewriteError> {
        if self.collect.active {
            self.collect.active = false;
            self.finish_url(start, splice)?;
        }
        if !self.names.pop(name) {
            return Err(RewriteError::malformed(format!(
                "unexpected end tag </{}>",
                String::from_utf8_lossy(name)
            )));
        }
        self.ns.pop();
        Ok(())
    }

    fn on_content(
        &mut self,
        decoded: &[u8],
        start: usize,
        end: usize,
        data: &Bytes,
        splice: &mut Splicer<'_>,
    ) -> Result<(), RewriteError> {
        let c = &mut self.collect;
        if !c.active {
            return Ok(());
        }
        c.raw
            .extend_from_slice(data.get(start..end).unwrap_or_default());
        c.text.extend_from_slice(decoded);
        if c.raw.len() > self.limits.max_token {
            return Err(RewriteError::new(
                RewriteErrorKind::TooLarge,
                format!("url text longer than {} bytes", self.limits.max_token),
            ));
        }
        splice.replace(start..end, b"");
        Ok(())
    }

    /// The end of a URL element: its moved URL, or its raw content, goes back in.
    fn finish_url(&self, at: usize, splice: &mut Splicer<'_>) -> Result<(), RewriteError> {
        let c = &self.collect;
        let text = std::str::from_utf8(&c.text)
            .map_err(|e| RewriteError::new(RewriteErrorKind::Encoding, e.to_string()))?;
        match self.mapper.map(text.trim_matches(is_xml_ws)) {
            Some(new) => {
                let trimmed_start = text.trim_start_matches(is_xml_ws);
                let lead = &text[..text.len() - trimmed_start.len()];
                let trail = &trimmed_start[trimmed_start.trim_end_matches(is_xml_ws).len()..];
                splice.replace(at..at, lead.as_bytes());
                splice.replace(at..at, partial_escape(new).as_bytes());
                splice.replace(at..at, trail.as_bytes());
            }
            None => splice.replace(at..at, &c.raw),
        }
        Ok(())
    }
}

/// Whether a parse error only means the buffer ended inside an event.
fn incomplete(e: &XmlError, data: &[u8], pos: usize) -> bool {
    match e {
        XmlError::Syntax(_) => true,
        XmlError::IllFormed(IllFormedError::UnclosedReference) => data
            .get(pos + 1..)
            .is_some_and(|rest| !rest.iter().any(|b| matches!(b, b';' | b'&' | b'<'))),
        _ => false,
    }
}

/// A character reference or one of the five predefined entities; `None` for any
/// other entity.
fn decode_ref(e: &BytesRef<'_>) -> Result<Option<String>, RewriteError> {
    let bad =
        |err: &dyn fmt::Display| RewriteError::new(RewriteErrorKind::Encoding, err.to_string());
    if let Some(ch) = e.resolve_char_ref().map_err(|err| bad(&err))? {
        return Ok(Some(ch.to_string()));
    }
    let name = e.decode().map_err(|err| bad(&err))?;
    Ok(resolve_predefined_entity(&name).map(str::to_owned))
}

/// Where `part` (borrowed from `data`) lies in `data`.
fn span_in(data: &[u8], part: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(data.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= data.len()).then_some(start..end)
}

#[cfg(test)]
pub(crate) mod tests;
