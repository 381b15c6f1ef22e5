//! WFront 0.4's compilation of a string spec into a regex (spec table 1.4.2), kept
//! byte for byte for [`Mode::Wfront04`](crate::Mode::Wfront04).

use regex::Regex;

use crate::spec::{split3, RegexSpec};

/// Python 2 `re.escape` of one character: everything but ASCII letters, digits and `_`
/// gets a backslash (non-ASCII characters are kept as they are, which the `regex`
/// crate needs).
///
/// `<` and `>` stay bare: the `regex` crate reads `\<` and `\>` as word boundaries.
fn py2_escape_into(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || matches!(c, '_' | '<' | '>') || !c.is_ascii() {
        out.push(c);
    } else if c.is_ascii_graphic() || c == ' ' {
        out.push('\\');
        out.push(c);
    } else {
        out.push_str(&format!("\\x{:02x}", u32::from(c)));
    }
}

/// WFront's `_glob`: escape, `*` becomes `.*?`, `\*` stays a literal star.
fn wfront_glob(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push_str("\\*");
            }
            '*' => out.push_str(".*?"),
            c => py2_escape_into(&mut out, c),
        }
    }
    out
}

/// The pattern WFront 0.4 compiles a string spec into (spec table 1.4.2).
pub(crate) fn wfront_pattern(spec: &str) -> String {
    if spec.is_empty() {
        return "^".to_owned();
    }
    let (host, port, path) = split3(spec);
    let field = |f: Option<&str>| match f {
        None | Some("") => "[^:]+".to_owned(),
        Some(t) => wfront_glob(t),
    };
    let path = match path {
        None | Some("" | "*") => ".*".to_owned(),
        Some(p) => format!("(?P<pathinfo>{})", wfront_glob(p)),
    };
    format!("^{}:{}:{}", field(Some(host)), field(port), path)
}

/// Compiles a string spec the WFront 0.4 way.
pub(crate) fn compile_wfront(spec: &str) -> Result<RegexSpec, String> {
    let pattern = wfront_pattern(spec);
    let regex = Regex::new(&pattern).map_err(|e| format!("invalid pattern {pattern:?}: {e}"))?;
    let pathinfo = regex.capture_names().position(|n| n == Some("pathinfo"));
    Ok(RegexSpec {
        source: pattern.as_str().into(),
        anchored: pattern,
        regex,
        pathinfo,
    })
}
