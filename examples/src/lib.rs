//! Runnable examples for frontdoor: see the `[[example]]` targets of this package.
