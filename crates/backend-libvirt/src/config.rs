//! The libvirt backend's `[bmc.libvirt]` table: the URI (default `qemu:///system`), the domain
//! (name or UUID) and the deadline of one call.
//!
//! ```toml
//! [bmc.libvirt]
//! domain = "vm1"                 # its name or UUID
//! # uri = "qemu:///system"       # or qemu+ssh://user@host/system, qemu+tls://host/system
//! # deadline_ms = 8000           # every call ends by then (0xC3)
//! # media_pool = "default"       # the storage pool the virtual media images go to
//! # media_max_mb = 4700          # the largest image taken
//! # media_timeout_ms = 9000       # an insert's download and upload end by then
//! ```

use crate::hypervisor::Hypervisor;
use crate::media::{MediaConfig, MAX_TIMEOUT, SPOOL_DIR};
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
    media_pool: Option<Spanned<String>>,
    media_max_mb: Option<Spanned<u64>>,
    media_timeout_ms: Option<Spanned<u64>>,
}

/// The default virtual media settings, the images spooled in `state_dir`'s `libvirt-media`.
pub fn default_media(state_dir: Option<&std::path::Path>) -> MediaConfig {
    MediaConfig {
        spool: state_dir.map(|d| d.join(SPOOL_DIR)),
        ..MediaConfig::default()
    }
}

/// The virtual media keys of a `[bmc.libvirt]` or a `[[libvirt_discovery]]`, as written.
#[derive(Clone, Copy, Default)]
pub struct MediaKeys<'a> {
    /// `media_pool`.
    pub pool: Option<&'a Spanned<String>>,
    /// `media_max_mb`.
    pub max_mb: Option<&'a Spanned<u64>>,
    /// `media_timeout_ms`.
    pub timeout_ms: Option<&'a Spanned<u64>>,
}

/// The virtual media settings `keys` give (the defaults where not given), the images spooled in
/// `state_dir`'s `libvirt-media`; a value out of range is refused where it is written.
pub fn media(
    src: &Source,
    state_dir: Option<&std::path::Path>,
    keys: MediaKeys,
) -> Result<MediaConfig, ConfigError> {
    let mut m = default_media(state_dir);
    if let Some(p) = keys.pool {
        let name = p.get_ref().trim();
        if name.is_empty() || name.contains(['/', '\'', '"', '<', '&']) {
            return Err(src.err(p.span(), "media_pool must be a libvirt storage pool's name"));
        }
        m.pool = name.to_string();
    }
    if let Some(mb) = keys.max_mb {
        if *mb.get_ref() == 0 || *mb.get_ref() > 1 << 20 {
            return Err(src.err(mb.span(), "media_max_mb must be 1 to 1048576 (MiB)"));
        }
        m.max_bytes = mb.get_ref() << 20;
    }
    if let Some(ms) = keys.timeout_ms {
        let d = Duration::from_millis(*ms.get_ref());
        if d < Duration::from_secs(1) || d > MAX_TIMEOUT {
            return Err(src.err(
                ms.span(),
                format!("media_timeout_ms must be 1000 to {} (the Redfish service answers an action within 30 s; the admin API waits 10 s)", MAX_TIMEOUT.as_millis()),
            ));
        }
        m.timeout = d;
    }
    Ok(m)
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
            media: media(
                cx.src,
                cx.state_dir,
                MediaKeys {
                    pool: t.media_pool.as_ref(),
                    max_mb: t.media_max_mb.as_ref(),
                    timeout_ms: t.media_timeout_ms.as_ref(),
                },
            )?,
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
