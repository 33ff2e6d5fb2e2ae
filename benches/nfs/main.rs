//! Placeholder: filled by the nfs crate work.
fn main() {}
