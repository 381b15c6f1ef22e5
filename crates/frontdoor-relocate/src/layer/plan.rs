//! The per-request decisions: which roots, which headers, which bodies.

use std::sync::Arc;

use frontdoor_core::{proto::rebase, Mount, Resolved};
use http::{
    header::{CONTENT_LENGTH, CONTENT_TYPE},
    request, HeaderMap, Method, StatusCode,
};

use super::builder::Config;
use crate::{
    body::{Coded, Mapper, Transform},
    coding::{content_coding, Accepted, Coding},
    event::RelocateEvent,
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
    /// The codings the client's `Accept-Encoding` accepts.
    accepted: Accepted,
}

/// A body to be rewritten: its rewriter, and its content coding (`None`: identity).
#[derive(Debug)]
pub(crate) struct Rewrite {
    pub(crate) transform: Transform,
    pub(crate) coding: Option<Coding>,
}

/// A request body in a content coding that cannot be decoded: answered 415.
#[derive(Debug)]
pub(crate) struct UnknownCoding;

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
            accepted: Accepted::from_headers(&parts.headers),
            relocation: Arc::new(relocation),
            config: Arc::clone(config),
            base,
        })
    }

    /// The rewrite of a request body, when it is to be rewritten (a coded one is
    /// decoded and encoded again the same way).
    ///
    /// # Errors
    ///
    /// A body to be rewritten in a coding that cannot be decoded.
    pub(crate) fn request_rewrite(
        &self,
        headers: &HeaderMap,
        empty: bool,
    ) -> Result<Option<Rewrite>, UnknownCoding> {
        let rewritable = self.dav_method
            && !empty
            && headers.get(CONTENT_LENGTH).is_none_or(|v| v != "0")
            && content_type(headers).is_some_and(|ct| ct.is_xml());
        if !rewritable {
            return Ok(None);
        }
        let coding = content_coding(headers).map_err(|_| UnknownCoding)?;
        Ok(Some(Rewrite {
            transform: self.xml(Direction::ToRemote),
            coding,
        }))
    }

    /// The rewrite of a response body, when it is to be rewritten. A body in a
    /// coding that cannot be decoded is passed on, and reported.
    pub(crate) fn response_rewrite(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Option<Rewrite> {
        let bodiless =
            self.head || status.is_informational() || matches!(status.as_u16(), 204 | 206 | 304);
        if bodiless {
            return None;
        }
        let ct = content_type(headers)?;
        let transform = if self.dav_method && ct.is_xml() {
            self.xml(Direction::ToLocal)
        } else if self.config.profile.is_html() && ct.is_html() {
            let mapper = Mapper::new(Arc::clone(&self.relocation), Direction::ToLocal);
            let html = HtmlRewriter::new(mapper, &self.config.html_attributes, self.config.limits);
            Transform::Html(Box::new(html))
        } else {
            return None;
        };
        match content_coding(headers) {
            Ok(coding) => Some(Rewrite { transform, coding }),
            Err(reason) => {
                tracing::debug!(%reason, %status, "coded response body passed on unrewritten");
                self.config.hook.emit(&RelocateEvent::Skipped(reason));
                None
            }
        }
    }

    /// The coding a rewritten response body in `coding` is sent in: the same when the
    /// client accepts it, else identity.
    pub(crate) fn response_coding(&self, coding: Coding) -> Option<Coding> {
        self.accepted.accepts(coding).then_some(coding)
    }

    /// The decoding of a body in `from`, encoded again in `to`, capped as configured.
    pub(crate) fn coded(&self, from: Coding, to: Option<Coding>) -> Coded {
        Coded::new(
            from,
            to,
            self.config.max_decoded_body,
            self.config.hook.clone(),
        )
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

#[cfg(test)]
mod tests {
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
}
