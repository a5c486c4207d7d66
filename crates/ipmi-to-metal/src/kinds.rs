//! The backend kinds this program knows: the one list. Each kind's crate owns its `[bmc.NAME]`
//! table (type, validation, defaults), its description for `check-config`, the longest one call
//! can take, and how its backend is built; adding a backend is its crate and one line here (see
//! the README's "Adding a backend").
//!
//! The order is the order `check-config` lists them in its errors ("available: ...").

use backend_config::BackendKind;
use std::process::ExitCode;

/// Every backend kind.
pub static KINDS: &[&dyn BackendKind] = &[
    &backend_sim::config::SimKind,
    &backend_metal::config::MetalKind,
    &backend_ipmi::config::IpmiKind,
    &backend_ssh::config::SshKind,
    &backend_command::config::CommandKind,
    &backend_http::config::HttpKind,
    &backend_redfish::config::RedfishKind,
    &backend_libvirt::config::LibvirtKind,
    #[cfg(test)]
    &crate::example_backend::ExampleKind,
];

/// The kinds' names, in order.
pub fn names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name()).collect()
}

/// The kind named `name`.
pub fn by_name(name: &str) -> Option<&'static dyn BackendKind> {
    KINDS.iter().copied().find(|k| k.name() == name)
}

/// The exit code of a kind that takes the process over before anything else (the ssh
/// backend's askpass helper), if one does.
pub fn helper_main() -> Option<ExitCode> {
    KINDS.iter().find_map(|k| k.helper_main())
}
