//! The second parsing step: the description checked by the plan, the server's tables
//! here, every error with its line and key path.

use frontdoor::plan::{Checked, Description, Located};

use super::{
    error::{ConfigError, ConfigErrors, Errors},
    raw::RawConfig,
    server::server,
    tls,
    types::Config,
};

/// Parses and validates a config file, returning every error found.
pub(super) fn parse(src: &str) -> Result<Config, ConfigErrors> {
    let mut description = Description::from_toml(src)?;
    description.tracing.apply_env();
    let mut errors = Errors::new(src);
    let raw: RawConfig = toml::from_str(src).map_err(|e| {
        let line = e.span().map(|s| errors.line_of(&s));
        ConfigError::new(line, "", e.message().trim_end().to_owned())
    })?;
    let listen_tls_span = raw.server.listen_tls.as_ref().map(toml::Spanned::span);
    let located = Located::new(src);
    let server = server(raw.server, &located, &mut errors);
    tls::check_listeners(
        &server,
        raw.tls.len(),
        listen_tls_span.as_ref(),
        &mut errors,
    );
    let certs = tls::certs(raw.tls, &mut errors);
    let plan = match description.check() {
        Ok(mut checked) => {
            errors.extend(services(&checked).map(|e| e.located(&located)));
            let warnings = std::mem::take(&mut checked.warnings);
            errors.extend_warnings(warnings.into_iter().map(|w| w.located(&located)));
            Some(checked)
        }
        Err(e) => {
            errors.extend(e.located(&located));
            None
        }
    };
    let warnings = errors.take_warnings();
    match plan {
        Some(plan) => errors.finish(Config {
            server,
            plan,
            tls: certs,
            warnings,
            text: src.into(),
        }),
        None => Err(errors.into_errors()),
    }
}

/// A `service:NAME` upstream, one error each: the binary has no way to register a
/// service (library users give one in code).
fn services(checked: &Checked) -> impl Iterator<Item = ConfigError> + '_ {
    checked.services().into_iter().map(|(path, name)| {
        ConfigError::new(
            None,
            path,
            format!(
                "service:{name} is for library users, who register the service in code \
                 (frontdoor::plan::Options::service); the frontdoor binary cannot: use an \
                 http:// URL or builtin:echo"
            ),
        )
    })
}
