//! The second parsing step: the description checked by the plan, the server's tables
//! here, every error with its line and key path.

use frontdoor::plan::{Description, Located};

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
