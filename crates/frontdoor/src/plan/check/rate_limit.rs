//! `rate_limit = { rate, burst, key, exempt, max_keys }` of a target, checked into
//! [`RateLimitSettings`], every error naming its key. The limiter itself (its key
//! table) is built from the settings once per plan, by its shared state
//! ([`RateLimitSettings::layer`]).

use std::num::{NonZeroU32, NonZeroUsize};

use ipnet::IpNet;

use crate::{
    plan::{checked::RateLimitSettings, description::RateLimit, error::Errors},
    rate_limit::{Key, Rate, RateLimitLayer},
};

impl RateLimitSettings {
    /// The limiter these settings describe, with a new (empty) key table.
    #[must_use]
    pub fn layer(&self) -> RateLimitLayer {
        let mut builder = RateLimitLayer::builder(self.rate)
            .key(self.key.clone())
            .exempt(self.exempt.iter().copied());
        if let Some(burst) = self.burst {
            builder = builder.burst(burst);
        }
        if let Some(max) = self.max_keys {
            builder = builder.max_keys(max);
        }
        builder.build()
    }
}

/// The settings of the target at `path` (`route[N]` or `default`), or `None` with the
/// errors recorded.
pub(super) fn rate_limit(
    path: &str,
    raw: &RateLimit,
    errors: &mut Errors,
) -> Option<RateLimitSettings> {
    let before = errors.count();
    let key = |k: &str| format!("{path}.rate_limit.{k}");
    let rate = raw
        .rate
        .parse::<Rate>()
        .map_err(|e| errors.push(key("rate"), e.message()))
        .ok();
    let burst = raw.burst.and_then(|n| {
        let burst = u32::try_from(n).ok().and_then(NonZeroU32::new);
        if burst.is_none() {
            errors.push(
                key("burst"),
                format!("must be a positive number of requests, got {n}"),
            );
        }
        burst
    });
    let limit_key = raw.key.as_deref().map_or(Some(Key::Client), |k| {
        k.parse::<Key>()
            .map_err(|e| errors.push(key("key"), e.message()))
            .ok()
    });
    let exempt = raw
        .exempt
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, text)| {
            let net = text
                .trim()
                .parse::<IpNet>()
                .or_else(|_| text.trim().parse::<std::net::IpAddr>().map(IpNet::from));
            net.map_err(|_| {
                errors.push(
                    format!("{}[{i}]", key("exempt")),
                    format!("not a CIDR or IP address: {text:?}"),
                );
            })
            .ok()
        })
        .collect();
    let max_keys = raw.max_keys.and_then(|n| {
        let max = usize::try_from(n).ok().and_then(NonZeroUsize::new);
        if max.is_none() {
            errors.push(
                key("max_keys"),
                format!("must be a positive number, got {n}"),
            );
        }
        max
    });
    let (Some(rate), Some(limit_key)) = (rate, limit_key) else {
        return None;
    };
    (errors.count() == before).then_some(RateLimitSettings {
        rate,
        burst,
        key: limit_key,
        exempt,
        max_keys,
    })
}

#[cfg(test)]
mod tests {
    use crate::plan::{description::RateLimit, Description, Route};

    fn errors(text: &str) -> Vec<String> {
        let description = Description::from_toml(text).unwrap();
        let located = crate::plan::Located::new(text);
        description
            .check()
            .unwrap_err()
            .located(&located)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn every_bad_value_names_its_key() {
        let text = r#"
[[route]]
spec = "::/a"
upstream = "http://127.0.0.1:1"

[[route]]
spec = "::/b"
upstream = "http://127.0.0.1:1"

[[route]]
spec = "::/c"
upstream = "http://127.0.0.1:1"
rate_limit = { rate = "100/d", burst = 0, key = "cookie", exempt = ["10.0.0.0/8", "nope"], max_keys = -1 }

[default]
upstream = "http://127.0.0.1:1"
rate_limit = { rate = "0/s" }
"#;
        assert_eq!(
            errors(text),
            [
                "line 13: route[2].rate_limit.rate: expected N/s, N/m or N/h, got \"100/d\"",
                "line 13: route[2].rate_limit.burst: must be a positive number of requests, got 0",
                "line 13: route[2].rate_limit.key: expected \"client\", \"route\" or \"header:NAME\", got \"cookie\"",
                "line 13: route[2].rate_limit.exempt[1]: not a CIDR or IP address: \"nope\"",
                "line 13: route[2].rate_limit.max_keys: must be a positive number, got -1",
                "line 17: default.rate_limit.rate: expected N/s, N/m or N/h with N > 0, got \"0/s\"",
            ]
        );
    }

    #[test]
    fn text_and_code_agree_and_check() {
        let text = r#"
[[route]]
spec = "::/api"
upstream = "http://127.0.0.1:1"
rate_limit = { rate = "100/s", burst = 50, key = "header:X-Api-Key", exempt = ["10.0.0.0/8"] }
"#;
        let from_text = Description::from_toml(text).unwrap();
        let from_code = Description::new().route(
            Route::new("::/api", "http://127.0.0.1:1").rate_limit(
                RateLimit::new("100/s")
                    .burst(50)
                    .key("header:X-Api-Key")
                    .exempt(["10.0.0.0/8"]),
            ),
        );
        assert_eq!(from_text, from_code);
        let checked = from_code.check().unwrap();
        let limit = checked.routes[0].target.rate_limit.as_ref().unwrap();
        assert_eq!(limit.rate.to_string(), "100/s");
        assert_eq!(limit.burst.map(|b| b.get()), Some(50));
        assert_eq!(limit.key.to_string(), "header:x-api-key");
        assert_eq!(
            limit.exempt,
            ["10.0.0.0/8".parse::<ipnet::IpNet>().unwrap()]
        );
        let layer = limit.layer();
        assert_eq!(layer.burst().get(), 50);
    }
}
