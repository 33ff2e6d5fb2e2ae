//! Placeholder: filled by the circle crate work.
fn main() {}
