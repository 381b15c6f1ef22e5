//! Streaming body rewriting: the transforms, the body that drives them, and the
//! bounded prefetch that decides between an exact `Content-Length` and streaming.
//!
//! Modules import only downwards. `transform` dispatches to the rewriters
//! (`crate::html`, `crate::xml`); they build on the pieces below them here
//! (`error`, `limits`, `mapper`, `splice`) and never on `transform` or this module.

pub(crate) mod codec;
pub(crate) mod error;
pub(crate) mod limits;
pub(crate) mod mapper;
mod prefetch;
pub(crate) mod splice;
mod stream;
mod transform;

#[cfg(test)]
pub(crate) use self::splice::high_water;
pub(crate) use self::{
    error::RewriteError,
    limits::Limits,
    mapper::Mapper,
    prefetch::{Prefetch, Prefetched},
    stream::{Coded, RewriteBody},
    transform::Transform,
};
