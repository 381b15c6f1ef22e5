//! Templates: the validated successor of WFront's `%`-style `sprintf` values.

use std::{borrow::Cow, fmt};

use crate::{error::CleanupErrorKind, target::Target};

/// One piece of a [`Template`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplatePart {
    /// Literal text.
    Literal(String),
    /// The rule target's own current value (`%s`); empty when absent.
    SelfValue,
    /// Another target's current value (`%(KEY)s`); empty when absent.
    Ref(Target),
}

/// A value computed from the request when the rule runs.
///
/// The text form is WFront's: `%s` is the rule target's own value (at most one per
/// template), `%(KEY)s` is the value of the target that the CGI key `KEY` names (see
/// [`Target::from_cgi_key`]), and `%%` is a literal `%`. Missing values render as
/// `""`. Everything is checked when the template is parsed, so what WFront reported
/// at request time (an unmatched `%`, a second `%s`, 1.7.3 of the spec) is a build
/// error here.
///
/// ```
/// use frontdoor_cleanup::{Target, Template, TemplatePart};
///
/// let t = Template::parse("%%s %s-%(HTTP_X_FOO)s")?;
/// assert_eq!(
///     t.parts(),
///     [
///         TemplatePart::Literal("%s ".into()),
///         TemplatePart::SelfValue,
///         TemplatePart::Literal("-".into()),
///         TemplatePart::Ref(Target::from_cgi_key("HTTP_X_FOO")?),
///     ]
/// );
/// assert!(Template::parse("100%").is_err());
/// assert!(Template::parse("%s and %s").is_err());
/// # Ok::<(), frontdoor_cleanup::CleanupErrorKind>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<TemplatePart>,
}

impl Template {
    /// Parses the `%`-style text form.
    ///
    /// # Errors
    ///
    /// [`CleanupErrorKind::InvalidTemplate`] for an unmatched `%`, an unclosed `%(`, an
    /// empty `%()s`, a conversion other than `s`, or a second `%s`;
    /// [`CleanupErrorKind::InvalidTarget`] for a reference that names no target.
    pub fn parse(text: &str) -> Result<Self, CleanupErrorKind> {
        let bad = |why: String| CleanupErrorKind::InvalidTemplate(format!("{why} in {text:?}"));
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(pos) = rest.find('%') {
            literal.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            let at = text.len() - rest.len() + pos;
            match after.chars().next() {
                Some('%') => {
                    literal.push('%');
                    rest = &after[1..];
                }
                Some('s') => {
                    flush(&mut literal, &mut parts);
                    parts.push(TemplatePart::SelfValue);
                    rest = &after[1..];
                }
                Some('(') => {
                    let close = after
                        .find(')')
                        .ok_or_else(|| bad(format!("unclosed \"%(\" at byte {at}")))?;
                    let name = &after[1..close];
                    if name.is_empty() {
                        return Err(bad(format!("empty reference at byte {at}")));
                    }
                    if !after[close + 1..].starts_with('s') {
                        return Err(bad(format!("reference at byte {at} must end in \")s\"")));
                    }
                    flush(&mut literal, &mut parts);
                    parts.push(TemplatePart::Ref(Target::from_cgi_key(name)?));
                    rest = &after[close + 2..];
                }
                _ => return Err(bad(format!("unmatched \"%\" at byte {at}"))),
            }
        }
        literal.push_str(rest);
        flush(&mut literal, &mut parts);
        Self::from_parts(parts)
    }

    /// Builds a template from typed parts (adjacent literals are kept as given).
    ///
    /// # Errors
    ///
    /// [`CleanupErrorKind::InvalidTemplate`] when more than one part is
    /// [`TemplatePart::SelfValue`]; [`CleanupErrorKind::InvalidTarget`] for an empty
    /// variable name.
    pub fn from_parts(
        parts: impl IntoIterator<Item = TemplatePart>,
    ) -> Result<Self, CleanupErrorKind> {
        let parts: Vec<_> = parts.into_iter().collect();
        let selves = parts
            .iter()
            .filter(|p| matches!(p, TemplatePart::SelfValue))
            .count();
        if selves > 1 {
            return Err(CleanupErrorKind::InvalidTemplate(
                "more than one self placeholder %s".to_owned(),
            ));
        }
        for p in &parts {
            if let TemplatePart::Ref(t) = p {
                t.validate()?;
            }
        }
        Ok(Self { parts })
    }

    /// A template that always renders `text` (no placeholders).
    pub fn literal(text: impl Into<String>) -> Self {
        Self {
            parts: vec![TemplatePart::Literal(text.into())],
        }
    }

    /// The parts, in order.
    #[must_use]
    pub fn parts(&self) -> &[TemplatePart] {
        &self.parts
    }

    /// Renders against the target's own value and a lookup for references.
    pub(crate) fn render<'a>(
        &self,
        own: Option<&str>,
        mut lookup: impl FnMut(&Target) -> Option<Cow<'a, str>>,
    ) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                TemplatePart::Literal(s) => out.push_str(s),
                TemplatePart::SelfValue => out.push_str(own.unwrap_or("")),
                TemplatePart::Ref(t) => {
                    if let Some(v) = lookup(t) {
                        out.push_str(&v);
                    }
                }
            }
        }
        out
    }
}

fn flush(literal: &mut String, parts: &mut Vec<TemplatePart>) {
    if !literal.is_empty() {
        parts.push(TemplatePart::Literal(std::mem::take(literal)));
    }
}

impl fmt::Display for Template {
    /// For introspection: literal `%` as `%%`, references by typed target
    /// (`%(header:x-foo)s`), which is not the CGI-key form [`Template::parse`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                TemplatePart::Literal(s) => f.write_str(&s.replace('%', "%%"))?,
                TemplatePart::SelfValue => f.write_str("%s")?,
                TemplatePart::Ref(t) => write!(f, "%({t})s")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_errors_table() {
        // spec 1.7.3: what WFront raised at request time is a build error here
        for bad in [
            "100%",
            "%s and %s",
            "%d",
            "%(A",
            "%()s",
            "%(A)d",
            "%(A)",
            "%",
            "a%b",
            "%(HTTP_)s",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad:?} should fail");
        }
        let ok = [
            ("%s_append", "x_append"),
            ("%%s %s", "%s x"),
            ("%%%s", "%x"),
            ("100%%", "100%"),
            ("%(B)s_append", "b_append"),
            ("", ""),
        ];
        for (t, want) in ok {
            let t = Template::parse(t).unwrap();
            let got = t.render(Some("x"), |_| Some(Cow::Borrowed("b")));
            assert_eq!(got, want);
        }
    }

    #[test]
    fn display_round_trips() {
        let t = Template::parse("a%%%s%(mode)s").unwrap();
        assert_eq!(t.to_string(), "a%%%s%(var:mode)s");
    }
}
