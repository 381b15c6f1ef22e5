//! The two WFront text syntaxes (verbose and shortcut) and the `KEY: VALUE` line
//! format: a front end over the typed [`RulesBuilder`], for migrating WFront configs.
//!
//! Each pair becomes one call of the typed builder (`wfront.sub.K: R` is
//! `.sub(K, R)`), named as the user wrote it so that errors point at the line. The
//! rules modules know nothing of this module.

use crate::{
    error::{CleanupError, CleanupErrorKind},
    rules::{Rules, RulesBuilder},
    target::Target,
};

/// Which WFront key syntax a set of (key, value) pairs is written in.
///
/// **Verbose** (WFront's default): `wfront.<directive>.<KEY>`, where the directive is
/// one of `copy` (value: the destination key), `subtract`, `sub` (value: a regex),
/// `sprintf` (a template), `setdefault` (a template), `remove` (value ignored),
/// `replace`, `reset_host` (no key needed, value ignored), or the exact key
/// `wfront.strip_path` (the macro). Any key not starting with `wfront.` is a plain
/// `set`. Keys are CGI-style and map onto typed targets with
/// [`Target::from_cgi_key`]. The Rust names `template`, `set_default` and `set` are
/// accepted as aliases of `sprintf`, `setdefault` and `replace`.
///
/// **Shortcut**: each key is rewritten to verbose by [`expand`] (first match wins):
///
/// | key | becomes |
/// |---|---|
/// | `-/` | `wfront.strip_path` |
/// | `>host` | `wfront.reset_host` |
/// | any key whose value is `None` | `wfront.remove.<key>` (the key taken literally) |
/// | `%KEY` | `wfront.sprintf.KEY` |
/// | `-KEY` | `wfront.subtract.KEY` |
/// | `~KEY` | `wfront.sub.KEY` |
/// | `=SRC` (value `DST`) | `wfront.copy.SRC` |
/// | `\|\|=KEY` | `wfront.setdefault.KEY` |
/// | anything else | unchanged (so verbose keys work too) |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Syntax {
    /// `wfront.<directive>.<KEY>` keys.
    Verbose,
    /// `=`, `-`, `~`, `%`, `||=`, `-/`, `>host` and `KEY: None` shortcuts.
    Shortcut,
}

// === impl Rules, RulesBuilder: the text front end ===

impl Rules {
    /// Parses the `KEY: VALUE` text format in one syntax, strict mode: the migration
    /// path from WFront configs. See [`RulesBuilder::text`].
    ///
    /// ```
    /// use frontdoor_cleanup::{Rules, Syntax, Target};
    ///
    /// let text = Rules::parse(Syntax::Shortcut, "mode: wap\nHTTP_COOKIE: None")?;
    /// let typed = Rules::builder()
    ///     .set(Target::var("mode"), "wap")
    ///     .remove(http::header::COOKIE)
    ///     .build()?;
    /// assert_eq!(text, typed);
    /// # Ok::<(), frontdoor_cleanup::CleanupError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The first [`CleanupError`], naming the offending rule.
    pub fn parse(syntax: Syntax, text: &str) -> Result<Self, CleanupError> {
        Self::builder().text(syntax, text).build()
    }

    /// Builds from (key, value) pairs in one syntax, strict mode. See
    /// [`RulesBuilder::pairs`].
    ///
    /// # Errors
    ///
    /// The first [`CleanupError`], naming the offending rule.
    pub fn from_pairs<I, K, V>(syntax: Syntax, pairs: I) -> Result<Self, CleanupError>
    where
        I: IntoIterator<Item = (K, Option<V>)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Self::builder().pairs(syntax, pairs).build()
    }
}

impl RulesBuilder {
    /// Adds rules from (key, value) pairs in the verbose (`wfront.<directive>.<KEY>`)
    /// or shortcut syntax; see [`Syntax`]. `None` is Python's `None`. Errors name
    /// the key as written.
    pub fn pairs<I, K, V>(mut self, syntax: Syntax, pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, Option<V>)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        for (key, value) in pairs {
            let (name, value) = (key.as_ref(), value.as_ref().map(AsRef::as_ref));
            let expanded;
            let key = match syntax {
                Syntax::Verbose => name,
                Syntax::Shortcut => {
                    expanded = expand_one(name, value);
                    expanded.as_str()
                }
            };
            self = add_verbose(self, key, name, value);
        }
        self
    }

    /// Adds rules from the `KEY: VALUE` line format (see [`parse_lines`]) in one
    /// syntax. A malformed line is reported by [`build`](Self::build).
    pub fn text(self, syntax: Syntax, text: &str) -> Self {
        match parse_lines(text) {
            Ok(pairs) => self.pairs(syntax, pairs),
            Err(e) => self.fail(e),
        }
    }
}

// === shortcut keys and the line format ===

/// Rewrites one shortcut key to its verbose form.
fn expand_one(key: &str, value: Option<&str>) -> String {
    if key == "-/" {
        "wfront.strip_path".to_owned()
    } else if key == ">host" {
        "wfront.reset_host".to_owned()
    } else if value.is_none() {
        format!("wfront.remove.{key}")
    } else if let Some(rest) = key.strip_prefix('%') {
        format!("wfront.sprintf.{rest}")
    } else if let Some(rest) = key.strip_prefix('-') {
        format!("wfront.subtract.{rest}")
    } else if let Some(rest) = key.strip_prefix('~') {
        format!("wfront.sub.{rest}")
    } else if let Some(rest) = key.strip_prefix('=') {
        format!("wfront.copy.{rest}")
    } else if let Some(rest) = key.strip_prefix("||=") {
        format!("wfront.setdefault.{rest}")
    } else {
        key.to_owned()
    }
}

/// WFront's `expand_shorthand`: rewrites shortcut pairs to verbose pairs, keeping the
/// order and the values. Never fails; what the keys mean is checked when the rules
/// are built (an empty key, which WFront rejected with `IndexError`, is kept and then
/// fails the build).
///
/// ```
/// use frontdoor_cleanup::expand;
///
/// let verbose = expand([("-/", Some("/app")), ("%SCRIPT_NAME", Some("/p%s")), ("HTTP_HOST", None)]);
/// assert_eq!(
///     verbose,
///     [
///         ("wfront.strip_path".to_owned(), Some("/app".to_owned())),
///         ("wfront.sprintf.SCRIPT_NAME".to_owned(), Some("/p%s".to_owned())),
///         ("wfront.remove.HTTP_HOST".to_owned(), None),
///     ]
/// );
/// ```
pub fn expand<I, K, V>(pairs: I) -> Vec<(String, Option<String>)>
where
    I: IntoIterator<Item = (K, Option<V>)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    pairs
        .into_iter()
        .map(|(k, v)| {
            let v = v.as_ref().map(|v| v.as_ref().to_owned());
            (expand_one(k.as_ref(), v.as_deref()), v)
        })
        .collect()
}

/// Parses the `KEY: VALUE` line format into pairs, for config files and CLI flags.
///
/// One rule per line, split at the first `:`; key and value are trimmed. Blank lines
/// and lines starting with `#` are skipped. The value `None` is Python's `None`; a
/// value in double quotes is taken literally without them (`"None"`, `" a "`).
///
/// ```
/// use frontdoor_cleanup::parse_lines;
///
/// let pairs = parse_lines("# demo\nHTTP_X_DEMO: hello\nHTTP_COOKIE: None\nmode: \"None\"\n")?;
/// assert_eq!(
///     pairs,
///     [
///         ("HTTP_X_DEMO".to_owned(), Some("hello".to_owned())),
///         ("HTTP_COOKIE".to_owned(), None),
///         ("mode".to_owned(), Some("None".to_owned())),
///     ]
/// );
/// # Ok::<(), frontdoor_cleanup::CleanupError>(())
/// ```
///
/// # Errors
///
/// [`CleanupErrorKind::Syntax`] naming the line (`line 3`) when it has no `:` or an
/// empty key.
pub fn parse_lines(text: &str) -> Result<Vec<(String, Option<String>)>, CleanupError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let rule = || format!("line {}", n + 1);
        let (key, value) = line.split_once(':').ok_or_else(|| {
            CleanupError::new(
                rule(),
                CleanupErrorKind::Syntax(format!("expected KEY: VALUE in {line:?}")),
            )
        })?;
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(CleanupError::new(
                rule(),
                CleanupErrorKind::Syntax(format!("empty key in {line:?}")),
            ));
        }
        let value = if value == "None" {
            None
        } else if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            Some(value[1..value.len() - 1].to_owned())
        } else {
            Some(value.to_owned())
        };
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

// === verbose keys ===

/// The `wfront.<directive>` names, with the Rust aliases.
const DIRECTIVES: [&str; 10] = [
    "copy",
    "subtract",
    "sub",
    "sprintf",
    "template",
    "setdefault",
    "set_default",
    "remove",
    "replace",
    "set",
];

/// One verbose pair, resolved to one call of the typed builder.
enum Call<'a> {
    StripPath(&'a str),
    ResetHost,
    Copy(Target, Target),
    Subtract(Target, &'a str),
    Sub(Target, &'a str),
    Template(Target, &'a str),
    SetDefault(Target, &'a str),
    Remove(Target),
    Set(Target, &'a str),
}

impl Call<'_> {
    fn add_to(self, b: RulesBuilder) -> RulesBuilder {
        match self {
            Self::StripPath(prefix) => b.strip_path(prefix),
            Self::ResetHost => b.reset_host(),
            Self::Copy(from, to) => b.copy(from, to),
            Self::Subtract(t, needle) => b.subtract(t, needle),
            Self::Sub(t, pattern) => b.sub(t, pattern),
            Self::Template(t, template) => b.template(t, template),
            Self::SetDefault(t, template) => b.set_default(t, template),
            Self::Remove(t) => b.remove(t),
            Self::Set(t, value) => b.set(t, value),
        }
    }
}

/// Adds one verbose pair to the builder, naming its rules `name` (the key as the
/// user wrote it, before shortcut expansion).
fn add_verbose(b: RulesBuilder, key: &str, name: &str, value: Option<&str>) -> RulesBuilder {
    match resolve(key, value) {
        Ok(Some(call)) => b.named(name, |b| call.add_to(b)),
        Ok(None) => b.missing_target(name),
        Err(kind) => b.fail(CleanupError::new(name, kind)),
    }
}

/// What a verbose pair asks for; `None` for a directive given no target key.
fn resolve<'a>(key: &'a str, value: Option<&'a str>) -> Result<Option<Call<'a>>, CleanupErrorKind> {
    let value = || value.ok_or(CleanupErrorKind::MissingValue);
    if key == "wfront.strip_path" {
        return Ok(Some(Call::StripPath(value()?)));
    }
    let Some(directive) = key.strip_prefix("wfront.") else {
        // a plain key: set
        let target = Target::from_cgi_key(key)?;
        return Ok(Some(Call::Set(target, value()?)));
    };
    let (action, tkey) = match directive.split_once('.') {
        Some((a, t)) => (a, Some(t)),
        None => (directive, None),
    };
    if action == "reset_host" {
        return Ok(Some(Call::ResetHost));
    }
    if !DIRECTIVES.contains(&action) {
        return Err(CleanupErrorKind::UnknownDirective(action.to_owned()));
    }
    let Some(tkey) = tkey else {
        return Ok(None);
    };
    let target = Target::from_cgi_key(tkey)?;
    if action == "remove" {
        return Ok(Some(Call::Remove(target)));
    }
    let v = value()?;
    Ok(Some(match action {
        "copy" => Call::Copy(target, Target::from_cgi_key(v)?),
        "subtract" => Call::Subtract(target, v),
        "sub" => Call::Sub(target, v),
        "sprintf" | "template" => Call::Template(target, v),
        "setdefault" | "set_default" => Call::SetDefault(target, v),
        _ => Call::Set(target, v),
    }))
}
