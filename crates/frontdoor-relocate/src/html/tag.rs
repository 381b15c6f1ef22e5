//! An HTML tag scanner: the WHATWG tokenizer's tag and attribute states, enough to
//! find where a tag ends (quotes included) and where its attribute values are.

use std::ops::Range;

/// Where the scanner is inside a tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TagState {
    Name,
    BeforeAttrName,
    AttrName,
    AfterAttrName,
    BeforeAttrValue,
    Quoted(u8),
    AfterQuoted,
    Unquoted,
}

/// An attribute with a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Attr {
    pub(crate) name: Range<usize>,
    pub(crate) value: Range<usize>,
    /// The quote character, or `None` for an unquoted value.
    pub(crate) quote: Option<u8>,
}

/// The outcome of scanning from some state.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The tag ends just before this index (the `>` is at `end - 1`).
    End(usize),
    /// The input ended inside the tag, in this state.
    More(TagState),
}

const fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// Scans `data[from..]` starting in `state`. When `attrs` is given, the attributes
/// that have values are recorded (indices into `data`).
pub(crate) fn scan(
    data: &[u8],
    from: usize,
    state: TagState,
    attrs: Option<&mut Vec<Attr>>,
) -> Scan {
    let mut scanner = Scanner {
        attrs,
        name: 0..0,
        value_start: 0,
    };
    let mut state = state;
    let mut i = from;
    while let Some(&b) = data.get(i) {
        if let TagState::Quoted(q) = state {
            // The value runs to the closing quote: jump there.
            let Some(off) = memchr::memchr(q, &data[i..]) else {
                return Scan::More(state);
            };
            scanner.push(i + off, Some(q));
            state = TagState::AfterQuoted;
            i += off + 1;
            continue;
        }
        match scanner.step(state, b, i) {
            Some(next) => state = next,
            None => return Scan::End(i + 1),
        }
        i += 1;
    }
    Scan::More(state)
}

/// The attribute being scanned.
struct Scanner<'a> {
    attrs: Option<&'a mut Vec<Attr>>,
    name: Range<usize>,
    value_start: usize,
}

impl Scanner<'_> {
    /// The state after byte `b` at `i`; `None` when it ends the tag.
    #[inline(always)]
    fn step(&mut self, state: TagState, b: u8, i: usize) -> Option<TagState> {
        if b == b'>' && !matches!(state, TagState::Quoted(_)) {
            if state == TagState::Unquoted {
                self.push(i, None);
            }
            return None;
        }
        let ws = is_ws(b);
        Some(match state {
            TagState::Name | TagState::BeforeAttrName | TagState::AfterQuoted
                if ws || b == b'/' =>
            {
                TagState::BeforeAttrName
            }
            TagState::Name => TagState::Name,
            TagState::AttrName | TagState::AfterAttrName if b == b'=' => TagState::BeforeAttrValue,
            TagState::AttrName | TagState::AfterAttrName if b == b'/' => TagState::BeforeAttrName,
            TagState::AttrName | TagState::AfterAttrName if ws => TagState::AfterAttrName,
            TagState::AttrName => {
                self.name.end = i + 1;
                TagState::AttrName
            }
            TagState::BeforeAttrName | TagState::AfterQuoted | TagState::AfterAttrName => {
                self.name = i..i + 1;
                TagState::AttrName
            }
            TagState::BeforeAttrValue if ws => TagState::BeforeAttrValue,
            TagState::BeforeAttrValue if b == b'"' || b == b'\'' => {
                self.value_start = i + 1;
                TagState::Quoted(b)
            }
            TagState::BeforeAttrValue => {
                self.value_start = i;
                TagState::Unquoted
            }
            TagState::Unquoted if ws => {
                self.push(i, None);
                TagState::BeforeAttrName
            }
            TagState::Unquoted | TagState::Quoted(_) => state,
        })
    }

    /// Records the attribute whose value ends at `end`.
    fn push(&mut self, end: usize, quote: Option<u8>) {
        if let Some(attrs) = &mut self.attrs {
            attrs.push(Attr {
                name: self.name.clone(),
                value: self.value_start..end,
                quote,
            });
        }
    }
}

/// The end of a tag name starting at `from` (at the first whitespace, `/` or `>`),
/// or `None` when the input ends first.
pub(crate) fn name_end(data: &[u8], from: usize) -> Option<usize> {
    data.get(from..)?
        .iter()
        .position(|&b| is_ws(b) || b == b'/' || b == b'>')
        .map(|off| from + off)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(tag: &str) -> (Scan, Vec<(String, String, Option<u8>)>) {
        let mut v = Vec::new();
        let d = tag.as_bytes();
        let from = name_end(d, 1).unwrap();
        let scan = scan(d, from, TagState::Name, Some(&mut v));
        let v = v
            .into_iter()
            .map(|a| (tag[a.name].to_owned(), tag[a.value].to_owned(), a.quote))
            .collect();
        (scan, v)
    }

    #[test]
    fn scans_attributes() {
        let (end, v) = attrs(r#"<a href="/x>y" title='t' data=u rel = "r" checked>tail"#);
        assert_eq!(end, Scan::End(50));
        assert_eq!(
            v,
            [
                ("href".to_owned(), "/x>y".to_owned(), Some(b'"')),
                ("title".to_owned(), "t".to_owned(), Some(b'\'')),
                ("data".to_owned(), "u".to_owned(), None),
                ("rel".to_owned(), "r".to_owned(), Some(b'"')),
            ]
        );
        let (end, v) = attrs("<img src=/a.png>");
        assert_eq!((end, v.len()), (Scan::End(16), 1));
        assert_eq!(v[0].1, "/a.png");
        let (end, v) = attrs("<br/>");
        assert_eq!((end, v.len()), (Scan::End(5), 0));
        // WHATWG: an `=` first in an attribute name is part of the name, so the quote
        // after it does not open a value and the tag ends at the first `>`.
        let (end, _) = attrs(r#"<a ="x>y">"#);
        assert_eq!(end, Scan::End(7));
        let (end, v) = attrs(r#"<a href="x"title="y">"#);
        assert_eq!((end, v.len()), (Scan::End(21), 2));
    }

    #[test]
    fn reports_where_it_stopped() {
        let d = br#"<a href="/x"#;
        assert_eq!(
            scan(d, 2, TagState::Name, None),
            Scan::More(TagState::Quoted(b'"'))
        );
        assert_eq!(
            scan(b"<a href", 2, TagState::Name, None),
            Scan::More(TagState::AttrName)
        );
        assert_eq!(
            scan(b"\" x>", 0, TagState::Quoted(b'"'), None),
            Scan::End(4)
        );
        assert_eq!(name_end(b"<abc", 1), None);
    }
}
