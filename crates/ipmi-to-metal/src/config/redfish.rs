//! The `[redfish]` table: the Redfish services. The aggregate service (every BMC) is off unless
//! `listen` is set; a BMC's own service (that BMC only) listens on its `redfish_listen`, or, with
//! `per_bmc_port`, on the IP address of its IPMI `listen` at that port. TLS unless
//! `allow_http = true` (warned at every start), with `tls_cert` and `tls_key` (PEM files) or,
//! without them, a self-signed certificate generated at the first start and kept in the state
//! directory.
//!
//! ```toml
//! [redfish]
//! listen = "127.0.0.1:8443"
//! session_timeout = 1800
//! max_sessions = 64
//! ```

use backend_config::{ConfigError, Source};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use toml::Spanned;

/// The Redfish service's settings.
#[derive(Clone, Debug)]
pub struct RedfishConfig {
    /// Where the aggregate service listens (TCP), if it is on.
    pub listen: Option<SocketAddr>,
    /// The port of every BMC's own service on its IPMI address, if set.
    pub per_bmc_port: Option<u16>,
    /// The certificate and key (PEM), if configured; `None`: self-signed, in the state directory.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Plain HTTP instead of TLS.
    pub allow_http: bool,
    /// A session closes after this many seconds unused.
    pub session_timeout: u64,
    /// The most sessions open at once.
    pub max_sessions: usize,
    /// What is weaker than it should be (plain HTTP).
    pub warnings: Vec<String>,
}

/// The `[redfish]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RedfishToml {
    listen: Option<Spanned<String>>,
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
    #[serde(default)]
    allow_http: bool,
    session_timeout: Option<Spanned<u64>>,
    max_sessions: Option<Spanned<u64>>,
    per_bmc_port: Option<Spanned<u64>>,
}

/// The session timeouts DMTF allows (seconds).
const TIMEOUTS: (u64, u64) = (30, 86_400);

/// The Redfish services' settings, `None` (off) unless `listen` or `per_bmc_port` is set or
/// a BMC has its own `redfish_listen` (`bmcs_own`, by address: then the table's other settings,
/// or their defaults without one).
pub(super) fn redfish(
    src: &Source,
    table: Option<&Spanned<RedfishToml>>,
    bmcs_own: &HashMap<SocketAddr, String>,
) -> Result<Option<RedfishConfig>, ConfigError> {
    let any_bmc_own = !bmcs_own.is_empty();
    let Some(table) = table else {
        return Ok(any_bmc_own.then(|| RedfishConfig {
            listen: None,
            per_bmc_port: None,
            tls: None,
            allow_http: false,
            session_timeout: 1800,
            max_sessions: 64,
            warnings: Vec::new(),
        }));
    };
    let t = table.get_ref();
    let per_bmc_port = match &t.per_bmc_port {
        Some(p) => Some(
            u16::try_from(*p.get_ref())
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| src.err(p.span(), "per_bmc_port: from 1 to 65535"))?,
        ),
        None => None,
    };
    let session_timeout = match &t.session_timeout {
        Some(s) if !(TIMEOUTS.0..=TIMEOUTS.1).contains(s.get_ref()) => {
            return Err(src.err(
                s.span(),
                format!(
                    "session_timeout: {} is outside {}..={} seconds",
                    s.get_ref(),
                    TIMEOUTS.0,
                    TIMEOUTS.1
                ),
            ))
        }
        Some(s) => *s.get_ref(),
        None => 1800,
    };
    let max_sessions = match &t.max_sessions {
        Some(m) if !(1..=10_000).contains(m.get_ref()) => {
            return Err(src.err(m.span(), "max_sessions: from 1 to 10000"))
        }
        Some(m) => *m.get_ref() as usize,
        None => 64,
    };
    let tls = match (&t.tls_cert, &t.tls_key) {
        (Some(c), Some(k)) => Some((src.path(c.get_ref()), src.path(k.get_ref()))),
        (None, None) => None,
        (Some(one), None) | (None, Some(one)) => {
            return Err(src.err(one.span(), "tls_cert and tls_key go together"))
        }
    };
    let listen = match &t.listen {
        Some(l) => {
            let addr = super::admin::listen_address(src, l, "127.0.0.1:8443")?;
            if let Some(bmc) = bmcs_own.get(&addr) {
                return Err(src.err(
                    l.span(),
                    format!("listen: {addr} is also bmc {bmc:?}'s redfish_listen"),
                ));
            }
            Some(addr)
        }
        None => None,
    };
    if listen.is_none() && per_bmc_port.is_none() && !any_bmc_own {
        return Ok(None);
    }
    let mut warnings = Vec::new();
    if t.allow_http {
        let on = listen.map_or("every BMC's own".to_string(), |a| format!("{a}"));
        warnings.push(format!(
            "the Redfish service on {on} is plain HTTP: passwords and session tokens cross the network in clear"
        ));
    }
    Ok(Some(RedfishConfig {
        listen,
        per_bmc_port,
        tls,
        allow_http: t.allow_http,
        session_timeout,
        max_sessions,
        warnings,
    }))
}
