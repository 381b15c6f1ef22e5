//! The per-request decisions: which roots, which headers, which bodies.

use std::sync::Arc;

use frontdoor_core::{proto::rebase, Mount, Resolved};
use http::{
    header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE},
    request, HeaderMap, Method, StatusCode,
};

use super::builder::Config;
use crate::{
    body::{Mapper, Transform},
    html::HtmlRewriter,
    relocation::Direction,
    xml::{XmlRewriter, XmlRules},
    Origin, Relocation, Root,
};

/// What one exchange relocates with.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) config: Arc<Config>,
    pub(crate) relocation: Arc<Relocation>,
    /// The upstream request's path and query (the base of relative response URLs).
    pub(crate) base: String,
    /// Whether the method is one whose XML bodies are rewritten (DAV profiles).
    dav_method: bool,
    head: bool,
}

impl Ctx {
    /// `None` when the request gives no usable local root (logged).
    pub(crate) fn new(config: &Arc<Config>, parts: &request::Parts) -> Option<Self> {
        let resolved = parts
            .extensions
            .get::<Resolved>()
            .map(Origin::from_resolved);
        let local = match &config.local {
            Some(root) if root.origin().is_some() => root.clone(),
            Some(root) => root.clone().with_origin(resolved),
            None => {
                let script_name = parts
                    .extensions
                    .get::<Mount>()
                    .map_or("", Mount::script_name);
                match Root::new(resolved, script_name) {
                    Ok(root) => root,
                    Err(e) => {
                        tracing::debug!(error = %e, "no local root: request not relocated");
                        return None;
                    }
                }
            }
        };
        let mut relocation = Relocation::new(local, config.remote.clone());
        for alias in &config.aliases {
            relocation = relocation.with_remote_alias(alias.clone());
        }
        let pq = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let base = rebase(pq, "/", config.remote.path()).unwrap_or_else(|| pq.to_owned());
        Some(Self {
            dav_method: config.profile.is_dav() && config.dav_methods.contains(&parts.method),
            head: parts.method == Method::HEAD,
            relocation: Arc::new(relocation),
            config: Arc::clone(config),
            base,
        })
    }

    /// Whether a response body of this exchange may be rewritten (so the request
    /// asks for an uncompressed one).
    pub(crate) fn response_may_be_rewritten(&self) -> bool {
        !self.head && (self.dav_method || self.config.profile.is_html())
    }

    /// The transform of a request body, when it is to be rewritten.
    pub(crate) fn request_transform(&self, headers: &HeaderMap, empty: bool) -> Option<Transform> {
        let rewritable = self.dav_method
            && !empty
            && headers.get(CONTENT_LENGTH).is_none_or(|v| v != "0")
            && identity_coding(headers)
            && content_type(headers).is_some_and(|ct| ct.is_xml());
        rewritable.then(|| self.xml(Direction::ToRemote))
    }

    /// The transform of a response body, when it is to be rewritten.
    pub(crate) fn response_transform(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Option<Transform> {
        let bodiless =
            self.head || status.is_informational() || matches!(status.as_u16(), 204 | 206 | 304);
        if bodiless || !identity_coding(headers) {
            return None;
        }
        let ct = content_type(headers)?;
        if self.dav_method && ct.is_xml() {
            return Some(self.xml(Direction::ToLocal));
        }
        if self.config.profile.is_html() && ct.is_html() {
            let mapper = Mapper::new(Arc::clone(&self.relocation), Direction::ToLocal);
            let html = HtmlRewriter::new(mapper, &self.config.html_attributes, self.config.limits);
            return Some(Transform::Html(Box::new(html)));
        }
        None
    }

    fn xml(&self, dir: Direction) -> Transform {
        let rules = if self.config.profile.is_svn() {
            &XmlRules::SVN
        } else {
            &XmlRules::WEBDAV
        };
        let mapper = Mapper::new(Arc::clone(&self.relocation), dir);
        Transform::Xml(Box::new(XmlRewriter::new(
            mapper,
            rules,
            self.config.limits,
        )))
    }
}

/// A parsed `Content-Type`: the lowercase media type and whether its charset is one
/// the rewriters can read (any ASCII-compatible one).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ContentType {
    media: String,
    ascii_compatible: bool,
}

impl ContentType {
    pub(crate) fn parse(value: &str) -> Self {
        let mut params = value.split(';');
        let media = params
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let ascii_compatible = !params.any(|p| {
            let Some((name, v)) = p.split_once('=') else {
                return false;
            };
            let v = v.trim().trim_matches('"').to_ascii_lowercase();
            name.trim().eq_ignore_ascii_case("charset")
                && (v.starts_with("utf-16") || v.starts_with("utf-32") || v.starts_with("ucs-"))
        });
        Self {
            media,
            ascii_compatible,
        }
    }

    /// `text/xml`, `application/xml` or any `*/*+xml`.
    pub(crate) fn is_xml(&self) -> bool {
        self.ascii_compatible
            && (self.media == "text/xml"
                || self.media == "application/xml"
                || (self.media.contains('/') && self.media.ends_with("+xml")))
    }

    /// `text/html`.
    pub(crate) fn is_html(&self) -> bool {
        self.ascii_compatible && self.media == "text/html"
    }
}

fn content_type(headers: &HeaderMap) -> Option<ContentType> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(ContentType::parse(value))
}

/// Whether every `Content-Encoding` is `identity` (or there is none).
pub(crate) fn identity_coding(headers: &HeaderMap) -> bool {
    headers.get_all(CONTENT_ENCODING).iter().all(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .map(str::trim)
                .all(|c| c.is_empty() || c.eq_ignore_ascii_case("identity"))
        })
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    /// X13 with the P9 fix, and the charsets that cannot be read.
    #[test]
    fn vector_x13_content_types() {
        let xml = [
            "text/xml",
            "text/xml; charset=\"utf-8\"",
            "text/xml ; charset=utf-8",
            "TEXT/XML",
            "application/xml",
            "application/davmount+xml",
            "Application/Atom+XML; charset=ISO-8859-1",
        ];
        for ct in xml {
            assert!(ContentType::parse(ct).is_xml(), "{ct}");
        }
        let not_xml = [
            "text/html",
            "text/xml; charset=utf-16",
            "text/xml; Charset=\"UTF-16LE\"",
            "+xml",
            "application/xml-dtd",
            "",
        ];
        for ct in not_xml {
            assert!(!ContentType::parse(ct).is_xml(), "{ct}");
        }
        assert!(ContentType::parse("TEXT/HTML; charset=utf-8").is_html());
        assert!(!ContentType::parse("text/html; charset=utf-16").is_html());
    }

    #[test]
    fn content_encodings() {
        let mut h = HeaderMap::new();
        assert!(identity_coding(&h));
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("identity"));
        assert!(identity_coding(&h));
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        assert!(!identity_coding(&h));
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("identity, br"));
        assert!(!identity_coding(&h));
    }
}
