//! Placeholder: filled by the pf crate work.
fn main() {}
