//! A small, allocation-avoiding parser for the RFC 7239 `Forwarded` header.
//!
//! ```text
//! Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711"
//! ```
//!
//! [`elements`] iterates the comma-separated *forwarded-elements* of one field value,
//! left to right. Each [`Element`] carries the four parameters RFC 7239 defines
//! (`for`, `by`, `host`, `proto`); extension parameters are checked for syntax and
//! skipped. Values are tokens or quoted strings; a value borrows from the input unless
//! it was a quoted string with escapes. `Display` writes an element back in the same
//! syntax, quoting where needed (an element with no parameter as `;`), so what the
//! parser can represent round-trips, element for element.
//!
//! Grammar accepted (RFC 7239 section 4, RFC 9110 lists and quoted strings):
//!
//! * elements are separated by `,` with optional whitespace; empty list members are
//!   skipped;
//! * pairs are separated by `;` with optional whitespace; empty pairs are allowed;
//! * a pair is `token "=" value` with no whitespace around `=`; parameter names are
//!   case-insensitive and each may occur once per element;
//! * `for`/`by` values are nodes: an IPv4 address, a bracketed IPv6 address,
//!   `unknown`, or an obfuscated `_identifier`, each with an optional `:port` or
//!   `:_obfport`.
//!
//! The parser never panics and stops at the first syntax error.
//!
//! ```
//! use frontdoor_core::proto::rfc7239::{elements, NodeName};
//!
//! let value = r#"for=192.0.2.60;proto=http, for="[2001:db8::17]:4711";host=example.com"#;
//! let all: Vec<_> = elements(value).collect::<Result<_, _>>()?;
//! assert_eq!(all.len(), 2);
//! assert_eq!(all[0].proto.as_deref(), Some("http"));
//! let node = all[1].for_node.as_ref().unwrap();
//! assert!(matches!(node.name, NodeName::Ip(ip) if ip.is_ipv6()));
//! assert_eq!(all[1].to_string(), r#"for="[2001:db8::17]:4711";host=example.com"#);
//! # Ok::<(), frontdoor_core::proto::rfc7239::Rfc7239Error>(())
//! ```

use std::{
    borrow::Cow,
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

/// One forwarded-element: what one proxy recorded about the request it received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Element<'a> {
    /// `for=`: the node that sent the request to the proxy.
    pub for_node: Option<Node<'a>>,
    /// `by=`: the proxy's own interface.
    pub by: Option<Node<'a>>,
    /// `host=`: the `Host` the proxy received, verbatim.
    pub host: Option<Cow<'a, str>>,
    /// `proto=`: the scheme the proxy received the request over, verbatim.
    pub proto: Option<Cow<'a, str>>,
}

impl Element<'_> {
    /// An element with no parameters.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

/// A `for` or `by` node.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Node<'a> {
    /// The node name.
    pub name: NodeName<'a>,
    /// The node port, when given.
    pub port: Option<NodePort<'a>>,
}

impl<'a> Node<'a> {
    /// A node from its parts.
    #[must_use]
    pub const fn new(name: NodeName<'a>, port: Option<NodePort<'a>>) -> Self {
        Self { name, port }
    }

    /// The node's IP address, when it has one.
    #[must_use]
    pub const fn ip(&self) -> Option<IpAddr> {
        match self.name {
            NodeName::Ip(ip) => Some(ip),
            NodeName::Unknown | NodeName::Obfuscated(_) => None,
        }
    }
}

/// The name part of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeName<'a> {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// `unknown`: the proxy does not know or will not say.
    Unknown,
    /// An obfuscated identifier, including its leading `_`.
    Obfuscated(Cow<'a, str>),
}

/// The port part of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodePort<'a> {
    /// A numeric port.
    Port(u16),
    /// An obfuscated port, including its leading `_`.
    Obfuscated(Cow<'a, str>),
}

/// A syntax error in a `Forwarded` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rfc7239Error {
    offset: usize,
    reason: &'static str,
}

impl Rfc7239Error {
    /// The byte offset in the field value where parsing stopped.
    #[must_use]
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// A short description of the problem.
    #[must_use]
    pub const fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for Rfc7239Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid forwarded header at byte {}: {}",
            self.offset, self.reason
        )
    }
}

impl std::error::Error for Rfc7239Error {}

/// Iterates the forwarded-elements of one `Forwarded` field value, left to right.
///
/// After the first error the iterator yields that error and then ends. See the
/// [module docs](self).
#[must_use]
pub fn elements(value: &str) -> Elements<'_> {
    Elements {
        input: value,
        pos: 0,
        done: false,
    }
}

/// Iterator returned by [`elements`].
#[derive(Clone, Debug)]
pub struct Elements<'a> {
    input: &'a str,
    pos: usize,
    done: bool,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<Element<'a>, Rfc7239Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut p = Parser {
            input: self.input,
            pos: self.pos,
        };
        // Skip empty list members.
        loop {
            p.skip_ows();
            if p.eat(b',') {
                continue;
            }
            break;
        }
        if p.at_end() {
            self.done = true;
            return None;
        }
        let res = p.element();
        self.pos = p.pos;
        if res.is_err() {
            self.done = true;
        }
        Some(res)
    }
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
}

/// RFC 9110 `tchar`.
const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

impl<'a> Parser<'a> {
    fn err(&self, reason: &'static str) -> Rfc7239Error {
        Rfc7239Error {
            offset: self.pos,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Result<&'a str, Rfc7239Error> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.err("expected a token"));
        }
        // tchars are ASCII, so both ends are char boundaries.
        self.input
            .get(start..self.pos)
            .ok_or_else(|| self.err("expected a token"))
    }

    fn quoted(&mut self) -> Result<Cow<'a, str>, Rfc7239Error> {
        // Opening quote already consumed.
        let start = self.pos;
        let mut owned: Option<String> = None;
        let mut run = start;
        loop {
            let Some(c) = self.input.get(self.pos..).and_then(|s| s.chars().next()) else {
                return Err(self.err("unterminated quoted string"));
            };
            match c {
                '"' => {
                    let tail = self.input.get(run..self.pos).unwrap_or("");
                    self.pos += 1;
                    return Ok(match owned {
                        Some(mut s) => {
                            s.push_str(tail);
                            Cow::Owned(s)
                        }
                        None => Cow::Borrowed(tail),
                    });
                }
                '\\' => {
                    let head = self.input.get(run..self.pos).unwrap_or("");
                    self.pos += 1;
                    let Some(esc) = self.input.get(self.pos..).and_then(|s| s.chars().next())
                    else {
                        return Err(self.err("unterminated quoted pair"));
                    };
                    if esc.is_ascii_control() && esc != '\t' {
                        return Err(self.err("control character in quoted pair"));
                    }
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(head);
                    s.push(esc);
                    self.pos += esc.len_utf8();
                    run = self.pos;
                }
                c if c.is_ascii_control() && c != '\t' => {
                    return Err(self.err("control character in quoted string"));
                }
                c => self.pos += c.len_utf8(),
            }
        }
    }

    fn value(&mut self) -> Result<Cow<'a, str>, Rfc7239Error> {
        if self.eat(b'"') {
            self.quoted()
        } else {
            self.token().map(Cow::Borrowed)
        }
    }

    fn element(&mut self) -> Result<Element<'a>, Rfc7239Error> {
        let mut el = Element::default();
        loop {
            self.skip_ows();
            match self.peek() {
                None | Some(b',') => return Ok(el),
                Some(b';') => {
                    self.pos += 1;
                    continue;
                }
                Some(_) => {}
            }
            let name_at = self.pos;
            let name = self.token()?;
            if !self.eat(b'=') {
                return Err(self.err("expected '=' after parameter name"));
            }
            let value_at = self.pos;
            let value = self.value()?;
            let dup = Rfc7239Error {
                offset: name_at,
                reason: "parameter occurs twice in one element",
            };
            let node_err = Rfc7239Error {
                offset: value_at,
                reason: "invalid node",
            };
            if name.eq_ignore_ascii_case("for") {
                if el.for_node.is_some() {
                    return Err(dup);
                }
                el.for_node = Some(parse_node(&value).ok_or(node_err)?);
            } else if name.eq_ignore_ascii_case("by") {
                if el.by.is_some() {
                    return Err(dup);
                }
                el.by = Some(parse_node(&value).ok_or(node_err)?);
            } else if name.eq_ignore_ascii_case("host") {
                if el.host.is_some() {
                    return Err(dup);
                }
                el.host = Some(value);
            } else if name.eq_ignore_ascii_case("proto") {
                if el.proto.is_some() {
                    return Err(dup);
                }
                el.proto = Some(value);
            }
            self.skip_ows();
            match self.peek() {
                None | Some(b',') => return Ok(el),
                Some(b';') => self.pos += 1,
                Some(_) => return Err(self.err("expected ';' or ','")),
            }
        }
    }
}

/// Takes `cow[range]` keeping the borrow when there is one.
fn sub<'a>(cow: &Cow<'a, str>, start: usize, end: usize) -> Option<Cow<'a, str>> {
    match cow {
        Cow::Borrowed(s) => s.get(start..end).map(Cow::Borrowed),
        Cow::Owned(s) => s.get(start..end).map(|s| Cow::Owned(s.to_owned())),
    }
}

fn is_obf(s: &str) -> bool {
    s.len() > 1
        && s.starts_with('_')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn parse_node<'a>(value: &Cow<'a, str>) -> Option<Node<'a>> {
    let s: &str = value;
    let (name_end, port_start) = if s.starts_with('[') {
        let close = s.find(']')?;
        match s.get(close + 1..)? {
            "" => (close + 1, None),
            rest if rest.starts_with(':') => (close + 1, Some(close + 2)),
            _ => return None,
        }
    } else {
        match s.find(':') {
            Some(i) => (i, Some(i + 1)),
            None => (s.len(), None),
        }
    };
    let name_text = s.get(..name_end)?;
    let name = if let Some(v6) = name_text.strip_prefix('[') {
        let v6 = v6.strip_suffix(']')?;
        NodeName::Ip(IpAddr::V6(v6.parse::<Ipv6Addr>().ok()?))
    } else if name_text.eq_ignore_ascii_case("unknown") {
        NodeName::Unknown
    } else if is_obf(name_text) {
        NodeName::Obfuscated(sub(value, 0, name_end)?)
    } else {
        NodeName::Ip(IpAddr::V4(name_text.parse::<Ipv4Addr>().ok()?))
    };
    let port = match port_start {
        None => None,
        Some(start) => {
            let text = s.get(start..)?;
            if is_obf(text) {
                Some(NodePort::Obfuscated(sub(value, start, s.len())?))
            } else if !text.is_empty()
                && text.len() <= 5
                && text.bytes().all(|b| b.is_ascii_digit())
            {
                Some(NodePort::Port(text.parse().ok()?))
            } else {
                return None;
            }
        }
    };
    Some(Node { name, port })
}

// === Display ===

fn write_value(f: &mut fmt::Formatter<'_>, v: &str) -> fmt::Result {
    if !v.is_empty() && v.bytes().all(is_tchar) {
        return f.write_str(v);
    }
    f.write_str("\"")?;
    for c in v.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

impl fmt::Display for NodeName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Self::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Self::Unknown => f.write_str("unknown"),
            Self::Obfuscated(s) => f.write_str(s),
        }
    }
}

impl fmt::Display for NodePort<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Port(p) => write!(f, "{p}"),
            Self::Obfuscated(s) => f.write_str(s),
        }
    }
}

impl fmt::Display for Node<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.port {
            Some(port) => write!(f, "{}:{port}", self.name),
            None => write!(f, "{}", self.name),
        }
    }
}

/// Writes the element as `for=..;by=..;host=..;proto=..`, quoting values that are not
/// tokens. An element without any of the four parameters (none given, or only
/// extension parameters) is written `;`, an empty pair: written as nothing it would
/// vanish from a list (empty list members are skipped), and every element to its left
/// would move one hop closer to the trusted end.
impl fmt::Display for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.for_node.is_none()
            && self.by.is_none()
            && self.host.is_none()
            && self.proto.is_none()
        {
            return f.write_str(";");
        }
        let mut sep = "";
        let mut pair = |f: &mut fmt::Formatter<'_>, name: &str, v: &str| {
            write!(f, "{sep}{name}=")?;
            sep = ";";
            write_value(f, v)
        };
        if let Some(n) = &self.for_node {
            pair(f, "for", &n.to_string())?;
        }
        if let Some(n) = &self.by {
            pair(f, "by", &n.to_string())?;
        }
        if let Some(h) = &self.host {
            pair(f, "host", h)?;
        }
        if let Some(p) = &self.proto {
            pair(f, "proto", p)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse_all(s: &str) -> Result<Vec<Element<'_>>, Rfc7239Error> {
        elements(s).collect()
    }

    /// Found by the `rfc7239` fuzz target: an element with no parameter was written
    /// as nothing and disappeared from a re-parsed list.
    #[test]
    fn an_element_without_parameters_survives_a_round_trip() {
        for input in [";", "ext=1", "for=192.0.2.1, ;;, ext=\"x\""] {
            let parsed = parse_all(input).unwrap();
            let written = parsed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            assert_eq!(
                parse_all(&written).unwrap(),
                parsed,
                "{input:?} -> {written:?}"
            );
        }
        assert_eq!(Element::new().to_string(), ";");
    }

    fn ip(s: &str) -> Option<Node<'static>> {
        Some(Node::new(NodeName::Ip(s.parse().unwrap()), None))
    }

    #[test]
    fn rfc_examples() {
        // RFC 7239 section 4 and 7.x examples.
        let v = parse_all(r#"for="_gazonk""#).unwrap();
        assert_eq!(
            v[0].for_node,
            Some(Node::new(NodeName::Obfuscated("_gazonk".into()), None))
        );
        let v = parse_all(r#"For="[2001:db8:cafe::17]:4711""#).unwrap();
        let n = v[0].for_node.as_ref().unwrap();
        assert_eq!(n.ip(), Some("2001:db8:cafe::17".parse().unwrap()));
        assert_eq!(n.port, Some(NodePort::Port(4711)));
        let v = parse_all("for=192.0.2.60;proto=http;by=203.0.113.43").unwrap();
        assert_eq!(v[0].for_node, ip("192.0.2.60"));
        assert_eq!(v[0].by, ip("203.0.113.43"));
        assert_eq!(v[0].proto.as_deref(), Some("http"));
        let v = parse_all("for=192.0.2.43, for=198.51.100.17").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].for_node, ip("198.51.100.17"));
        let v = parse_all(r#"for=unknown;by="_x:_p", for="UNKNOWN:80""#).unwrap();
        assert_eq!(v[0].for_node.as_ref().unwrap().name, NodeName::Unknown);
        assert_eq!(
            v[0].by.as_ref().unwrap().port,
            Some(NodePort::Obfuscated("_p".into()))
        );
        assert_eq!(
            v[1].for_node.as_ref().unwrap().port,
            Some(NodePort::Port(80))
        );
    }

    #[test]
    fn whitespace_empty_members_and_extensions() {
        let v = parse_all(" , for=1.2.3.4 ; host=a.com ;; ext=\"x\" ,, proto=https ,").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].host.as_deref(), Some("a.com"));
        assert_eq!(v[1].proto.as_deref(), Some("https"));
        assert!(parse_all("").unwrap().is_empty());
        assert!(parse_all(" ,, ").unwrap().is_empty());
    }

    #[test]
    fn quoted_strings_unescape_and_borrow() {
        let v = parse_all(r#"host="a\"b\\c""#).unwrap();
        assert_eq!(v[0].host.as_deref(), Some(r#"a"b\c"#));
        assert!(matches!(v[0].host, Some(Cow::Owned(_))));
        let v = parse_all(r#"host="plain.example""#).unwrap();
        assert!(matches!(v[0].host, Some(Cow::Borrowed("plain.example"))));
    }

    #[test]
    fn errors() {
        let table: &[(&str, &str)] = &[
            ("for", "expected '=' after parameter name"),
            ("for =1.2.3.4", "expected '=' after parameter name"),
            ("for=", "expected a token"),
            ("for=1.2.3.4 host=x", "expected ';' or ','"),
            (r#"host="abc"#, "unterminated quoted string"),
            ("host=a;host=b", "parameter occurs twice in one element"),
            ("for=[::1]", "expected a token"),
            (r#"for="[::1""#, "invalid node"),
            (r#"for="1.2.3.4:99999""#, "invalid node"),
            ("for=999.1.1.1", "invalid node"),
            ("for=_", "invalid node"),
            (r#"for="_a b""#, "invalid node"),
            ("host=\"a\u{1}\"", "control character in quoted string"),
            ("=x", "expected a token"),
        ];
        for (input, reason) in table {
            let err = parse_all(input).unwrap_err();
            assert_eq!(err.reason(), *reason, "{input:?}");
        }
        // The iterator stops after an error.
        let mut it = elements("for=1.2.3.4, bad, for=5.6.7.8");
        assert!(it.next().unwrap().is_ok());
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }

    fn node_strategy() -> impl Strategy<Value = Node<'static>> {
        let name = prop_oneof![
            any::<std::net::Ipv4Addr>().prop_map(|a| NodeName::Ip(a.into())),
            any::<std::net::Ipv6Addr>().prop_map(|a| NodeName::Ip(a.into())),
            Just(NodeName::Unknown),
            "_[A-Za-z0-9._-]{1,8}".prop_map(|s| NodeName::Obfuscated(s.into())),
        ];
        let port = prop_oneof![
            Just(None),
            any::<u16>().prop_map(|p| Some(NodePort::Port(p))),
            "_[A-Za-z0-9._-]{1,8}".prop_map(|s| Some(NodePort::Obfuscated(s.into()))),
        ];
        (name, port).prop_map(|(name, port)| Node::new(name, port))
    }

    fn element_strategy() -> impl Strategy<Value = Element<'static>> {
        // Representable values: no control characters other than tab.
        let text = "[^\\p{Cc}]{0,12}|[\\t !-~]{0,12}";
        (
            proptest::option::of(node_strategy()),
            proptest::option::of(node_strategy()),
            proptest::option::of(text.prop_map(Cow::Owned)),
            proptest::option::of(text.prop_map(Cow::Owned)),
        )
            .prop_map(|(for_node, by, host, proto)| Element {
                for_node,
                by,
                host,
                proto,
            })
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let s = String::from_utf8_lossy(&bytes);
            for el in elements(&s).flatten() {
                let _ = el.to_string();
            }
        }

        #[test]
        fn never_panics_on_forwarded_like_text(s in "[a-zA-Z0-9=;,\"\\\\\\[\\]:_. \t]{0,48}") {
            let _ = elements(&s).count();
        }

        #[test]
        fn round_trips(list in proptest::collection::vec(element_strategy(), 1..4)) {
            let text = list.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let parsed: Vec<Element<'_>> = elements(&text).collect::<Result<_, _>>()
                .map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
            // Every element survives, an empty one too (written `;`): a dropped one
            // would move the elements left of it one hop.
            prop_assert_eq!(&parsed, &list, "{}", text);
        }
    }
}
