//! Placeholder: the rewriter benches land with the body rewriters.
fn main() {}
