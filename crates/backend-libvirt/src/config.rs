//! The libvirt backend's `[bmc.libvirt]` table: the URI (default `qemu:///system`), the domain
//! (name or UUID) and the deadline of one call.
//!
//! ```toml
//! [bmc.libvirt]
//! domain = "vm1"                 # its name or UUID
//! # uri = "qemu:///system"       # or qemu+ssh://user@host/system, qemu+tls://host/system
//! # deadline_ms = 8000           # every call ends by then (0xC3)
//! ```

use crate::hypervisor::Hypervisor;
use crate::{LibvirtBackend, LibvirtConfig};
use backend_config::{
    BackendSettings, BmcContext, ConfigError, Kind, LongestCall, Resources, Source, Spanned,
};
use ipmi_bmc::Backend;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The URI when `uri` is not given.
pub const DEFAULT_URI: &str = "qemu:///system";
/// Every call ends within this time unless `deadline_ms` says otherwise: below the request
/// deadline (10 s).
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(8000);

/// `[bmc.libvirt]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibvirtToml {
    uri: Option<Spanned<String>>,
    domain: Spanned<String>,
    deadline_ms: Option<Spanned<u64>>,
}

/// The libvirt backend kind.
pub struct LibvirtKind;

/// A `uri` as written, checked (default [`DEFAULT_URI`]).
pub fn uri(src: &Source, uri: Option<&Spanned<String>>) -> Result<String, ConfigError> {
    match uri {
        None => Ok(DEFAULT_URI.to_string()),
        Some(u) if u.get_ref().contains("://") && !u.get_ref().chars().any(char::is_whitespace) => {
            Ok(u.get_ref().clone())
        }
        Some(u) => Err(src.err(
            u.span(),
            "uri must be a libvirt URI such as qemu:///system or qemu+ssh://user@host/system",
        )),
    }
}

/// A `deadline_ms` as written (default [`DEFAULT_DEADLINE`], at least 100 ms).
pub fn deadline(deadline_ms: Option<&Spanned<u64>>) -> Duration {
    deadline_ms
        .map_or(DEFAULT_DEADLINE, |ms| Duration::from_millis(*ms.get_ref()))
        .max(Duration::from_millis(100))
}

/// The longest call: the deadline.
pub fn longest_call(deadline_ms: Option<&Spanned<u64>>, deadline: Duration) -> LongestCall {
    LongestCall {
        time: deadline,
        setting: "deadline_ms",
        at: deadline_ms.map(|ms| ms.span()),
    }
}

/// The one hypervisor (connection) of `uri` for the process.
pub fn hypervisor(shared: &mut Resources, uri: &str) -> Arc<Hypervisor> {
    shared.shared(|h: &Hypervisor| h.uri() == uri, |_| Hypervisor::new(uri))
}

impl Kind for LibvirtKind {
    const NAME: &'static str = "libvirt";
    const NEEDS: Option<&'static str> = Some("domain");
    type Table = LibvirtToml;
    type Settings = LibvirtConfig;

    fn configure(
        &self,
        cx: &BmcContext,
        table: Option<&Spanned<LibvirtToml>>,
    ) -> Result<LibvirtConfig, ConfigError> {
        let t = table.expect("NEEDS a table").get_ref();
        let domain = t.domain.get_ref().trim().to_string();
        if domain.is_empty() {
            return Err(cx
                .src
                .err(t.domain.span(), "domain must be the domain's name or UUID"));
        }
        Ok(LibvirtConfig {
            uri: uri(cx.src, t.uri.as_ref())?,
            domain,
            deadline: deadline(t.deadline_ms.as_ref()),
        })
    }

    fn longest_call(
        &self,
        table: Option<&Spanned<LibvirtToml>>,
        settings: &LibvirtConfig,
    ) -> Option<LongestCall> {
        Some(longest_call(
            table.and_then(|t| t.get_ref().deadline_ms.as_ref()),
            settings.deadline,
        ))
    }
}

impl BackendSettings for LibvirtConfig {
    fn describe(&self) -> String {
        format!("libvirt domain {} at {}", self.domain, self.uri)
    }

    fn device(&self) -> Option<&str> {
        Some(&self.domain)
    }

    fn build(&self, shared: &mut Resources) -> Result<Arc<dyn Backend>, String> {
        let hv = hypervisor(shared, &self.uri);
        Ok(Arc::new(LibvirtBackend::new(hv, self.clone())))
    }
}
