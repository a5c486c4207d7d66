//! A BMC's serial console (`[bmc.console]`): Serial over LAN's settings (`enabled`,
//! `bit_rate`, `privilege`: the session privilege SOL needs, operator unless set) and the
//! console log.

use backend_config::{ConfigError, Source};
use ipmi_proto::session::sol_config::bit_rate_code;
use ipmi_proto::session::SolConfig;
use serde::Deserialize;
use std::path::PathBuf;
use toml::Spanned;

/// `[bmc.console]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsoleToml {
    enabled: Option<bool>,
    log: Option<Spanned<String>>,
    log_max_kib: Option<Spanned<u64>>,
    log_keep: Option<Spanned<u32>>,
    timestamps: Option<bool>,
    replay_kib: Option<Spanned<u32>>,
    bit_rate: Option<Spanned<u32>>,
    privilege: Option<Spanned<String>>,
}

/// The console of one BMC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// The console log file; `None`: `console/NAME.log` in the state directory.
    pub log: Option<PathBuf>,
    /// The log is rotated when it would grow past this many bytes.
    pub log_max_bytes: u64,
    /// How many rotated logs are kept (`NAME.log.1` the newest).
    pub log_keep: u32,
    /// Whether each line of the log starts with the time it was read (UTC).
    pub timestamps: bool,
    /// How much of the log's end a newly activated SOL session is sent first (bytes).
    pub replay_bytes: usize,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            log: None,
            log_max_bytes: 1024 * 1024,
            log_keep: 3,
            timestamps: false,
            replay_bytes: 0,
        }
    }
}

/// The most `replay_kib`: what the SOL output buffer holds.
const MAX_REPLAY_KIB: u32 = 64;
/// The largest `log_max_kib`: 16 GiB in one file (and no wrapping when counted in bytes).
const MAX_LOG_KIB: u64 = 16 * 1024 * 1024;

/// The console settings and the SOL configuration of a BMC listening on `port`.
pub(super) fn console(
    src: &Source,
    t: Option<&ConsoleToml>,
    port: u16,
) -> Result<(ConsoleSettings, SolConfig), ConfigError> {
    let d = ConsoleSettings::default();
    let mut sol = SolConfig {
        port,
        ..SolConfig::default()
    };
    let Some(t) = t else {
        return Ok((d, sol));
    };
    if let Some(b) = &t.bit_rate {
        let code = bit_rate_code(*b.get_ref()).ok_or_else(|| {
            src.err(
                b.span(),
                "bit_rate must be 9600, 19200, 38400, 57600 or 115200",
            )
        })?;
        (sol.non_volatile_bit_rate, sol.volatile_bit_rate) = (code, code);
    }
    sol.enabled = t.enabled.unwrap_or(sol.enabled);
    // The session privilege SOL needs (default operator: see `SolConfig`). Callback cannot
    // run SOL; user is the operator's explicit choice for a console anyone may watch.
    if let Some(p) = &t.privilege {
        sol.privilege = ipmi_proto::types::Privilege::from_name(p.get_ref())
            .filter(|l| {
                use ipmi_proto::types::Privilege::{Administrator, User};
                (User..=Administrator).contains(l)
            })
            .ok_or_else(|| {
                src.err(
                    p.span(),
                    format!(
                        "bad privilege {:?}: expected user, operator or administrator",
                        p.get_ref()
                    ),
                )
            })?;
    }
    let log = match &t.log {
        Some(l) if l.get_ref().trim().is_empty() => {
            return Err(src.err(l.span(), "log must not be empty"))
        }
        Some(l) => Some(src.dir().join(l.get_ref())),
        None => None,
    };
    let log_max_bytes = match &t.log_max_kib {
        // Bounded: in bytes it must not wrap (a huge value would become a tiny size).
        Some(k) if !(4..=MAX_LOG_KIB).contains(k.get_ref()) => {
            return Err(src.err(
                k.span(),
                format!("log_max_kib must be 4 to {MAX_LOG_KIB} (16 GiB)"),
            ))
        }
        Some(k) => k.get_ref() * 1024,
        None => d.log_max_bytes,
    };
    let log_keep = match &t.log_keep {
        Some(k) if *k.get_ref() > 100 => return Err(src.err(k.span(), "log_keep must be 0 to 100")),
        Some(k) => *k.get_ref(),
        None => d.log_keep,
    };
    let replay_bytes = match &t.replay_kib {
        Some(r) if *r.get_ref() > MAX_REPLAY_KIB => {
            return Err(src.err(
                r.span(),
                format!("replay_kib must be 0 to {MAX_REPLAY_KIB}"),
            ))
        }
        Some(r) => *r.get_ref() as usize * 1024,
        None => 0,
    };
    Ok((
        ConsoleSettings {
            log,
            log_max_bytes,
            log_keep,
            timestamps: t.timestamps.unwrap_or(false),
            replay_bytes,
        },
        sol,
    ))
}
