//! `[server]`: the binary's keys (listeners, the admin listener, workers), checked
//! naming their key (`server.<key>`); the connection settings, read by the server's
//! own [`Settings`]; and the keys of the stack, the plan's. A key none of them knows
//! is an error.

use std::{net::SocketAddr, ops::Range};

use frontdoor::{
    plan::{check::values, description, Located},
    serve::Settings,
};
use serde::de::{self, Deserialize, Deserializer};
use toml::Spanned;

use super::{
    error::Errors,
    raw::{OneOrMany, RawServer, ServerSettings},
    types::Server,
};

/// `[server]`, checked; `file` is the file, for the connection settings and the
/// lines of their errors.
pub(super) fn server(raw: RawServer, file: &Located<'_>, errors: &mut Errors<'_>) -> Server {
    unknown_keys(&raw, file, errors);
    let settings = settings(file, errors);
    Server {
        listen: raw
            .listen
            .map_or_else(|| vec![DEFAULT_LISTEN], |l| listen("listen", &l, errors)),
        listen_tls: raw
            .listen_tls
            .map_or_else(Vec::new, |l| listen("listen_tls", &l, errors)),
        admin: raw.admin.and_then(|a| {
            let parsed = socket_addr(a.get_ref());
            parsed
                .map_err(|message| errors.push(Some(&a.span()), "server.admin", message))
                .ok()
        }),
        workers: raw.workers.and_then(|n| {
            values::count(*n.get_ref())
                .map_err(|message| errors.push(Some(&n.span()), "server.workers", message))
                .ok()
        }),
        settings,
    }
}

/// The connection settings of `[server]`, each key read alone by [`Settings`] so that
/// every bad one is reported (with its line and key path), then the good ones
/// together.
fn settings(file: &Located<'_>, errors: &mut Errors<'_>) -> Settings {
    let table = toml::from_str::<ServerSettings>(file.text())
        .map(|s| s.server)
        .unwrap_or_default();
    let names = field_names::<Settings>();
    let mut good = toml::Table::new();
    for (key, value) in table
        .into_iter()
        .filter(|(k, _)| names.contains(&k.as_str()))
    {
        let one = toml::Table::from_iter([(key.clone(), value.clone())]);
        match Settings::deserialize(toml::Value::Table(one)) {
            Ok(_) => {
                good.insert(key, value);
            }
            Err(e) => {
                let path = format!("server.{key}");
                let line = file.line_of_path(&path);
                errors.push_at(line, path, e.message().trim_end().to_owned());
            }
        }
    }
    Settings::deserialize(toml::Value::Table(good)).unwrap_or_default()
}

/// Records a `[server]` key that neither the binary, the server nor the plan reads.
fn unknown_keys(raw: &RawServer, file: &Located<'_>, errors: &mut Errors<'_>) {
    let own = ["listen", "listen_tls", "admin", "workers"];
    let settings = field_names::<Settings>();
    let stack = field_names::<description::Settings>();
    let known = || own.iter().chain(settings).chain(stack);
    for key in raw.rest.keys() {
        if !known().any(|k| k == key) {
            let expected = known().map(|k| format!("`{k}`")).collect::<Vec<_>>();
            let line = file.line_of_path(&format!("server.{key:?}"));
            errors.push_at(
                line,
                "",
                format!(
                    "unknown field `{key}`, expected one of {}",
                    expected.join(", ")
                ),
            );
        }
    }
}

/// The field names serde reads `T` from: what its derived `Deserialize` passes to
/// `deserialize_struct`.
fn field_names<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    struct Names<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for Names<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("names only"))
        }

        fn deserialize_struct<V: de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("names only"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
            enum identifier ignored_any
        }
    }

    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(Names(&mut names));
    names
}

/// The addresses at `server.{key}` (`listen` needs at least one).
fn listen(key: &str, listen: &Spanned<OneOrMany>, errors: &mut Errors<'_>) -> Vec<SocketAddr> {
    let span: Range<usize> = listen.span();
    let Some(addrs) = values::strings(listen.get_ref()) else {
        errors.push(
            Some(&span),
            format!("server.{key}"),
            "expected an address or a list of addresses",
        );
        return Vec::new();
    };
    if addrs.is_empty() && key == "listen" {
        errors.push(Some(&span), "server.listen", "needs at least one address");
    }
    addrs
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let parsed = socket_addr(a);
            parsed
                .map_err(|message| errors.push(Some(&span), format!("server.{key}[{i}]"), message))
                .ok()
        })
        .collect()
}

fn socket_addr(value: &str) -> Result<SocketAddr, String> {
    value
        .parse::<SocketAddr>()
        .map_err(|_| format!("not an ip:port address: {value:?}"))
}

/// The default listen address.
pub(super) const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);
