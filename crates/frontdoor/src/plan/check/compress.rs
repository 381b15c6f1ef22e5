//! `compress = true | false | { algorithms, min_size, types }` of a target, checked
//! into [`Compression`], every error naming its key path
//! (`route[1].compress.algorithms[0]: unknown algorithm "lz4", expected zstd, br,
//! gzip`).

use toml::Value;

use super::values;
use crate::{
    compress::{Algorithm, CompressLayer, MediaRange, DEFAULT_MIN_SIZE},
    plan::{checked::Compression, error::Errors},
};

impl Compression {
    /// The compression layer these settings describe.
    pub fn layer(&self) -> CompressLayer {
        let layer = CompressLayer::new()
            .algorithms(self.algorithms.iter().copied())
            .min_size(self.min_size);
        match &self.types {
            Some(types) => layer.types(types.iter().cloned()),
            None => layer,
        }
    }
}

impl Default for Compression {
    /// `compress = true`: zstd, br, gzip; from 1 KiB; the default types.
    fn default() -> Self {
        Self {
            algorithms: Algorithm::ALL.to_vec(),
            min_size: DEFAULT_MIN_SIZE,
            types: None,
        }
    }
}

/// The `compress` of the target at `path` (`route[N]` or `default`): `None` when
/// absent, off or wrong (the errors recorded).
pub(super) fn compress(
    path: &str,
    raw: Option<&Value>,
    errors: &mut Errors,
) -> Option<Compression> {
    let key = format!("{path}.compress");
    match raw? {
        Value::Boolean(true) => Some(Compression::default()),
        Value::Boolean(false) => None,
        Value::Table(table) => table_form(&key, table, errors),
        other => {
            errors.push(
                key,
                format!(
                    "expected true, false or a table {{ algorithms, min_size, types }}, got {}",
                    other.type_str()
                ),
            );
            None
        }
    }
}

fn table_form(key: &str, table: &toml::Table, errors: &mut Errors) -> Option<Compression> {
    let before = errors.count();
    let mut settings = Compression::default();
    for (name, value) in table {
        let at = format!("{key}.{name}");
        match name.as_str() {
            "algorithms" => settings.algorithms = algorithms(&at, value, errors),
            "min_size" => {
                if let Some(n) = errors.check(&at, values::size(value)) {
                    settings.min_size = n;
                }
            }
            "types" => settings.types = Some(types(&at, value, errors)),
            other => errors.push(
                at,
                format!("unknown key {other:?}, expected algorithms, min_size, types"),
            ),
        }
    }
    (errors.count() == before).then_some(settings)
}

/// A list of strings at `key`, each with its key path, or an error.
fn list<'a>(
    key: &str,
    value: &'a Value,
    what: &str,
    errors: &mut Errors,
) -> Vec<(String, &'a str)> {
    let Some(items) = value.as_array() else {
        errors.push(key, format!("expected a list of {what}"));
        return Vec::new();
    };
    if items.is_empty() {
        errors.push(
            key,
            format!("needs at least one of {what} (compress = false turns compression off)"),
        );
    }
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let at = format!("{key}[{i}]");
            match item.as_str() {
                Some(text) => Some((at, text)),
                None => {
                    errors.push(at, format!("expected a string, got {}", item.type_str()));
                    None
                }
            }
        })
        .collect()
}

fn algorithms(key: &str, value: &Value, errors: &mut Errors) -> Vec<Algorithm> {
    let mut out = Vec::new();
    for (at, text) in list(key, value, "zstd, br, gzip", errors) {
        match text.parse::<Algorithm>() {
            Ok(a) if out.contains(&a) => {
                errors.push(at, format!("{:?} is listed twice", a.as_str()))
            }
            Ok(a) => out.push(a),
            Err(e) => errors.push(at, e.to_string()),
        }
    }
    out
}

fn types(key: &str, value: &Value, errors: &mut Errors) -> Vec<MediaRange> {
    list(key, value, "media types", errors)
        .into_iter()
        .filter_map(|(at, text)| {
            errors.check(
                &at,
                text.parse()
                    .map_err(|e: crate::compress::MediaRangeError| e.to_string()),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::plan::{description::Route, Description};

    fn check(compress: &str) -> Result<Option<super::Compression>, Vec<String>> {
        let text = format!(
            "[[route]]\nspec = \"::/a\"\nupstream = \"http://127.0.0.1:1\"\n\n\
             [[route]]\nspec = \"::/b\"\nupstream = \"http://127.0.0.1:1\"\ncompress = {compress}\n"
        );
        let description = Description::from_toml(&text).map_err(|e| vec![e.to_string()])?;
        match description.check() {
            Ok(checked) => Ok(checked.routes[1].target.compress.clone()),
            Err(errors) => Err(errors.iter().map(ToString::to_string).collect()),
        }
    }

    #[test]
    fn forms() {
        assert_eq!(check("false"), Ok(None));
        let on = check("true").unwrap().unwrap();
        assert_eq!(on, super::Compression::default());
        let table =
            check(r#"{ algorithms = ["gzip", "br"], min_size = "2KiB", types = ["text/*"] }"#)
                .unwrap()
                .unwrap();
        assert_eq!(
            table.algorithms,
            [
                crate::compress::Algorithm::Gzip,
                crate::compress::Algorithm::Br
            ]
        );
        assert_eq!(table.min_size, 2048);
        assert_eq!(table.types, Some(vec!["text/*".parse().unwrap()]));
        assert_eq!(check("{ min_size = 0 }").unwrap().unwrap().min_size, 0);
        // The builder writes `compress = true`.
        let built = Description::new()
            .default_target(Route::target("http://127.0.0.1:1").compress())
            .check()
            .unwrap();
        assert_eq!(
            built.default.unwrap().compress,
            Some(super::Compression::default())
        );
    }

    #[test]
    fn errors_name_key_paths() {
        let cases = [
            (r#"{ algorithms = ["lz4"] }"#, r#"route[1].compress.algorithms[0]: unknown algorithm "lz4", expected zstd, br, gzip"#),
            (r#"{ algorithms = ["gzip", "gzip"] }"#, r#"route[1].compress.algorithms[1]: "gzip" is listed twice"#),
            ("{ algorithms = [] }", "route[1].compress.algorithms: needs at least one of zstd, br, gzip (compress = false turns compression off)"),
            ("{ algorithms = \"gzip\" }", "route[1].compress.algorithms: expected a list of zstd, br, gzip"),
            ("{ algorithms = [1] }", "route[1].compress.algorithms[0]: expected a string, got integer"),
            ("{ min_size = \"big\" }", "route[1].compress.min_size: "),
            (r#"{ types = ["text"] }"#, r#"route[1].compress.types[0]: not a media type pattern: "text" (expected type/subtype, type/*, */*+suffix or */*)"#),
            ("{ level = 9 }", r#"route[1].compress.level: unknown key "level", expected algorithms, min_size, types"#),
            ("\"yes\"", "route[1].compress: expected true, false or a table { algorithms, min_size, types }, got string"),
        ];
        for (value, expected) in cases {
            let errors = check(value).unwrap_err();
            assert_eq!(errors.len(), 1, "{value}: {errors:?}");
            assert!(errors[0].contains(expected), "{value}: {errors:?}");
        }
    }
}
