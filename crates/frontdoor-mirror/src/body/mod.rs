//! The two transparent body wrappers: the request tee and the response capture.

mod capture;
mod tee;

pub use self::{capture::CaptureBody, tee::TeeBody};
pub(crate) use self::{
    capture::{PrimaryReport, Reporter},
    tee::{Tee, TeeOutcome},
};
