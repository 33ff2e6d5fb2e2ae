//! Any other system: "Unknown", never a compile error.

use crate::rules::Distribution;
use crate::{Host, Platform, System};

pub(crate) fn host() -> Host {
    Host::unknown()
}

pub(crate) fn detect() -> Platform {
    let mut d = Distribution::unknown();
    d.system = System::current();
    Platform::from_parts(d, host())
}
