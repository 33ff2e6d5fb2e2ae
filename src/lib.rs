//! The agentry workspace's root package (unpublished): it owns the examples and benches that
//! compose the four crates. This library exists only so that the README's code is compiled and
//! checked by `cargo test --workspace`.
#![doc = include_str!("../README.md")]
