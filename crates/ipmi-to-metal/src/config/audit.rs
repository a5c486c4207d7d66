//! The `[audit]` table: where the audit log goes (one JSON line per state-changing request; see
//! `crate::audit`). `log = "stdout"`, `log = "off"`, or a file path (relative to the
//! configuration file). Without the table: `$LOGS_DIRECTORY/audit.jsonl` when `LOGS_DIRECTORY`
//! is set (systemd's `LogsDirectory=`), else off.
//!
//! The log fails closed: a power action whose record cannot be written is refused (see
//! `crate::audit`). `fail_open = true` carries it out anyway, for those who put availability
//! before the record.
//!
//! ```toml
//! [audit]
//! log = "/var/log/ipmi-to-metal/audit.jsonl"
//! fail_open = false
//! ```

use backend_config::{ConfigError, Source};
use serde::Deserialize;
use std::path::PathBuf;
use toml::Spanned;

/// Where the audit records go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditTarget {
    /// Nowhere.
    Off,
    /// Standard output, one JSON line each (for a container's log collector).
    Stdout,
    /// Appended to this file.
    File(PathBuf),
}

/// The `[audit]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditToml {
    log: Option<Spanned<String>>,
    /// Requests go on when their records cannot be written.
    #[serde(default)]
    pub(super) fail_open: bool,
}

/// The file name in `$LOGS_DIRECTORY` when no `[audit]` table says otherwise.
const DEFAULT_FILE: &str = "audit.jsonl";

/// Where the audit log goes, from the table or the default.
pub(super) fn audit(src: &Source, table: Option<&AuditToml>) -> Result<AuditTarget, ConfigError> {
    let Some(log) = table.and_then(|t| t.log.as_ref()) else {
        return Ok(default_target());
    };
    Ok(match log.get_ref().trim() {
        "" => return Err(src.err(log.span(), "log: give a file, \"stdout\" or \"off\"")),
        "off" => AuditTarget::Off,
        "stdout" => AuditTarget::Stdout,
        path => AuditTarget::File(src.path(path)),
    })
}

/// `$LOGS_DIRECTORY/audit.jsonl` (the first directory systemd gives), else off.
pub fn default_target() -> AuditTarget {
    std::env::var_os("LOGS_DIRECTORY")
        .and_then(|v| {
            let first = v.to_string_lossy().split(':').next()?.to_string();
            (!first.is_empty()).then(|| AuditTarget::File(PathBuf::from(first).join(DEFAULT_FILE)))
        })
        .unwrap_or(AuditTarget::Off)
}

#[cfg(test)]
mod tests {
    use super::AuditTarget;
    use crate::config::parse_all;
    use std::path::Path;

    const BMC: &str = "[[bmc]]\nname = \"a\"\nlisten = \"127.0.0.1:6230\"\nbackend = \"sim\"\n[[bmc.users]]\nname = \"admin\"\npassword = \"pw\"\nprivilege = \"administrator\"\n";

    #[test]
    fn audit_table() {
        let dir = Path::new("/etc/itm");
        let load = |t: &str| parse_all("c.toml", &format!("{BMC}{t}"), dir);
        let target = |t: &str| load(t).unwrap().audit;
        assert_eq!(target("[audit]\nlog = \"off\"\n"), AuditTarget::Off);
        assert_eq!(target("[audit]\nlog = \"stdout\"\n"), AuditTarget::Stdout);
        assert_eq!(
            target("[audit]\nlog = \"logs/audit.jsonl\"\n"),
            AuditTarget::File("/etc/itm/logs/audit.jsonl".into())
        );
        assert_eq!(
            target("[audit]\nlog = \"/var/log/a.jsonl\"\n"),
            AuditTarget::File("/var/log/a.jsonl".into())
        );
        let e = load("[audit]\nlog = \"\"\n").err().unwrap().0;
        assert!(e.starts_with("c.toml:10:7: log: give a file"), "{e}");
        let c = load("[audit]\nlog = \"stdout\"\nfail_open = true\n").unwrap();
        assert!(c.audit_fail_open);
        assert!(!load("[audit]\nlog = \"stdout\"\n").unwrap().audit_fail_open);
        let e = load("[audit]\npath = \"x\"\n").err().unwrap().0;
        assert!(e.starts_with("c.toml:10:1:"), "{e}");
        assert!(e.contains("unknown field"), "{e}");
    }
}
