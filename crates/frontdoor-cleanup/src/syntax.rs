//! The two WFront text syntaxes (verbose and shortcut) and the `KEY: VALUE` line format.

use crate::{
    error::{BuildError, BuildErrorKind},
    rules::RulesBuilder,
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

/// Rewrites one shortcut key to its verbose form.
pub(crate) fn expand_one(key: &str, value: Option<&str>) -> String {
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
/// # Ok::<(), frontdoor_cleanup::BuildError>(())
/// ```
///
/// # Errors
///
/// [`BuildErrorKind::Syntax`] naming the line (`line 3`) when it has no `:` or an
/// empty key.
pub fn parse_lines(text: &str) -> Result<Vec<(String, Option<String>)>, BuildError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let rule = || format!("line {}", n + 1);
        let (key, value) = line.split_once(':').ok_or_else(|| {
            BuildError::new(
                rule(),
                BuildErrorKind::Syntax(format!("expected KEY: VALUE in {line:?}")),
            )
        })?;
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(BuildError::new(
                rule(),
                BuildErrorKind::Syntax(format!("empty key in {line:?}")),
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

/// Adds one verbose pair to the builder, naming its rules `name` (the key as the
/// user wrote it, before shortcut expansion).
pub(crate) fn parse_verbose(
    b: RulesBuilder,
    key: &str,
    name: &str,
    value: Option<&str>,
) -> RulesBuilder {
    let fail = |b: RulesBuilder, kind| b.fail(BuildError::new(name, kind));
    let target = |k: &str| Target::from_cgi_key(k);
    if key == "wfront.strip_path" {
        return match value {
            Some(v) => b.strip_path(v).rename_last(3, name),
            None => fail(b, BuildErrorKind::MissingValue),
        };
    }
    let Some(directive) = key.strip_prefix("wfront.") else {
        // a plain key: set
        return match (target(key), value) {
            (Ok(t), Some(v)) => b.set(t, v).rename_last(1, name),
            (Err(e), _) => fail(b, e),
            (Ok(_), None) => fail(b, BuildErrorKind::MissingValue),
        };
    };
    let (action, tkey) = match directive.split_once('.') {
        Some((a, t)) => (a, Some(t)),
        None => (directive, None),
    };
    if matches!(action, "reset_host") {
        return b.reset_host().rename_last(1, name);
    }
    let known = [
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
    if !known.contains(&action) {
        return fail(b, BuildErrorKind::UnknownDirective(action.to_owned()));
    }
    let Some(tkey) = tkey else {
        return b.no_target(name);
    };
    let t = match target(tkey) {
        Ok(t) => t,
        Err(e) => return fail(b, e),
    };
    if action == "remove" {
        return b.remove(t).rename_last(1, name);
    }
    let Some(v) = value else {
        return fail(b, BuildErrorKind::MissingValue);
    };
    let b = match action {
        "copy" => match target(v) {
            Ok(to) => b.copy(t, to),
            Err(e) => return fail(b, e),
        },
        "subtract" => b.subtract(t, v),
        "sub" => b.sub(t, v),
        "sprintf" | "template" => b.template(t, v),
        "setdefault" | "set_default" => b.set_default(t, v),
        _ => b.set(t, v),
    };
    b.rename_last(1, name)
}
