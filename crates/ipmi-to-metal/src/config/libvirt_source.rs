//! The source of a `[[libvirt_discovery]]`: a libvirt host and which of its domains get a BMC.
//! Apart from the table's reader ([`super::libvirt_discovery`]) so that the list of discovery
//! sources ([`super::discovery`]) names it without the reader naming the list back.

use backend_config::BackendConfig;
use backend_libvirt::config::LibvirtKind;
use backend_libvirt::discover::Filter;
use backend_libvirt::LibvirtConfig;
use std::time::Duration;

/// The host and filter of a `[[libvirt_discovery]]`.
#[derive(Clone)]
pub struct LibvirtSource {
    /// The libvirt URI.
    pub uri: String,
    /// Which domains.
    pub filter: Filter,
    /// The filter as written, for `list`.
    pub written: String,
    /// Every call's deadline (listing and each BMC's).
    pub deadline: Duration,
    /// The virtual media settings of its domains (the defaults).
    pub media: backend_libvirt::media::MediaConfig,
}

impl LibvirtSource {
    /// The backend of the domain with this UUID.
    pub fn backend(&self, uuid: &str) -> BackendConfig {
        BackendConfig::of::<LibvirtKind>(LibvirtConfig {
            uri: self.uri.clone(),
            domain: uuid.to_string(),
            deadline: self.deadline,
            media: self.media.clone(),
        })
    }

    /// What it lists.
    pub fn describe(&self) -> String {
        format!("domains {} at {}", self.written, self.uri)
    }
}
