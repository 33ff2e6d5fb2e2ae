//! Placeholder: filled by the sysutil crate work.
fn main() {}
