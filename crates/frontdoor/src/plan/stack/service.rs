//! The end of a `service:NAME` target: the service registered under `NAME` in the
//! plan's [`Options`], in place of the built-in upstream client.

use super::{
    client::Problem,
    options::{Options, TargetService},
};
use crate::plan::checked::Target;

/// The service `target` ends in, when its upstream is `service:NAME` (`None`: the
/// built-in client); an error at `upstream` when `options` has no such service.
pub(super) fn registered(
    target: &Target,
    options: &Options,
) -> Result<Option<TargetService>, Problem> {
    let Some(name) = target.service() else {
        return Ok(None);
    };
    match options.services.get(name) {
        Some(service) => Ok(Some(service.clone())),
        None => Err((
            "upstream",
            format!("no service {name:?} was registered in the plan's Options"),
        )),
    }
}

#[cfg(test)]
mod tests;
