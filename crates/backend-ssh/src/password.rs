//! The SSH password: kept in memory that is zeroized when dropped, and never shown by `Debug`
//! (so neither is any configuration that holds it).

use zeroize::Zeroizing;

/// A password for an SSH login.
#[derive(Clone, PartialEq, Eq)]
pub struct SshPassword(Zeroizing<String>);

impl SshPassword {
    /// Takes `password` over (its buffer is the one zeroized: no copy is left behind).
    pub fn new(password: String) -> Self {
        SshPassword(Zeroizing::new(password))
    }

    /// The password, to hand to ssh.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SshPassword {
    fn from(password: String) -> Self {
        SshPassword::new(password)
    }
}

impl std::fmt::Debug for SshPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SshPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use crate::{SshCommands, SshConfig, SshPassword, Unreachable};
    use std::time::Duration;

    #[test]
    fn debug_never_shows_the_password() {
        let cfg = SshConfig {
            host: "10.0.0.1".into(),
            port: 22,
            user: "root".into(),
            key_file: None,
            password: Some(SshPassword::new("hunter2-correct-horse".into())),
            known_hosts: "/etc/ipmi-to-metal/known_hosts".into(),
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(30),
            commands: SshCommands::default(),
            unreachable: Unreachable::Off,
            local_ipmitool: None,
            control_dir: "/run/x".into(),
            askpass: Some("/usr/bin/ipmi-to-metal".into()),
        };
        let shown = format!("{cfg:?} {cfg:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("password: Some(SshPassword(<redacted>))"),
            "{shown}"
        );
        // The rest is still there to debug with.
        assert!(shown.contains("10.0.0.1"), "{shown}");
        assert_eq!(
            cfg.password.as_ref().map(SshPassword::expose),
            Some("hunter2-correct-horse")
        );
    }
}
