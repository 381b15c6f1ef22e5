//! Local-root <-> remote-root relocation of requests and responses.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod relocation;
mod root;
mod url;

pub use relocation::Relocation;
pub use root::{Origin, ParseRootError, Root};
