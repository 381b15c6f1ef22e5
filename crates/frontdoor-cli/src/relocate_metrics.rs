//! The relocation's counters: compressed bodies passed on unrelocated, and bodies cut
//! off past `[server] max_decoded_body`, by route.

use frontdoor::relocate::RelocateEvent;
use prometheus_client::{
    metrics::{counter::Counter, family::Family},
    registry::Registry,
};

type Labels = Vec<(&'static str, String)>;

/// `frontdoor_relocate_skipped_total{route,reason}` and
/// `frontdoor_decoded_body_too_large_total{route}`.
#[derive(Clone, Debug)]
pub(crate) struct RelocationCounters {
    skipped: Family<Labels, Counter>,
    too_large: Family<Labels, Counter>,
}

impl RelocationCounters {
    /// Both families, registered in `registry`.
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let skipped = Family::<Labels, Counter>::default();
        registry.register(
            "relocate_skipped",
            "Compressed bodies passed on unrelocated (a coding that cannot be decoded), by route and reason",
            skipped.clone(),
        );
        let too_large = Family::<Labels, Counter>::default();
        registry.register(
            "decoded_body_too_large",
            "Compressed bodies cut off past [server] max_decoded_body while relocated, by route",
            too_large.clone(),
        );
        Self { skipped, too_large }
    }

    /// Counts `event` of `route`.
    pub(crate) fn count(&self, route: &str, event: &RelocateEvent) {
        match event {
            RelocateEvent::Skipped(reason) => {
                let labels = vec![
                    ("route", route.to_owned()),
                    ("reason", reason.as_str().to_owned()),
                ];
                self.skipped.get_or_create(&labels).inc();
            }
            RelocateEvent::DecodedTooLarge { .. } => {
                let labels = vec![("route", route.to_owned())];
                self.too_large.get_or_create(&labels).inc();
            }
            _ => {}
        }
    }
}
