//! Where the master connections' sockets live, and which BMCs may share one.
//!
//! Whoever can connect to a master's socket can run commands on its host as the user it logged
//! in as, without a key or a password: the socket is the credential. So the sockets live in a
//! directory only this process's user can enter ([`private_control_dir`]), and a master is
//! shared only by BMCs that would make exactly the same connection ([`socket_name`]): the same
//! host, port, user, key, password, known_hosts file and options. A BMC pinned to another host
//! key, or holding other credentials, connects and authenticates on its own.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Tries at most this many random names before giving up (each is 64 random bits, so a clash
/// means someone is creating our names, not chance).
const ATTEMPTS: usize = 16;

/// Creates a new directory for the master connections' sockets that only this process's user
/// can enter: a random name under `$XDG_RUNTIME_DIR` when that is set (and private, as it should
/// be), else under the temporary directory. The directory is made with `mkdir(2)` and mode 0700,
/// which fails if the name exists, so a directory or link someone else prepared is never used;
/// it is then checked with `lstat` to be a directory (not a link) owned by the effective user,
/// with mode 0700. Each call makes a fresh directory; the caller removes it when done.
pub fn private_control_dir() -> io::Result<PathBuf> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute() && runtime_dir_is_private(d))
        .unwrap_or_else(std::env::temp_dir);
    create_private_dir_in(&base, || {
        format!("ipmi-to-metal-ssh-{:016x}", rand::random::<u64>())
    })
}

/// Whether `$XDG_RUNTIME_DIR` is what the XDG spec promises: our own, closed to others.
fn runtime_dir_is_private(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir)
        .is_ok_and(|m| m.is_dir() && m.uid() == euid() && m.mode() & 0o077 == 0)
}

fn euid() -> u32 {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

fn refused(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, why)
}

/// Creates `base/NAME` for the first `next_name()` that does not exist yet, and checks it.
fn create_private_dir_in(
    base: &Path,
    mut next_name: impl FnMut() -> String,
) -> io::Result<PathBuf> {
    // Others may create entries in a shared directory; without the sticky bit they could also
    // rename ours away after the checks below and put their own in its place.
    let parent = std::fs::metadata(base)?;
    let sticky = parent.mode() & 0o1000 != 0;
    if parent.mode() & 0o022 != 0 && !sticky {
        return Err(refused(format!(
            "{} is writable by others and not sticky: no safe place for SSH control sockets",
            base.display()
        )));
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.mode(0o700);
    for _ in 0..ATTEMPTS {
        let dir = base.join(next_name());
        match builder.create(&dir) {
            Ok(()) => {
                check_private(&dir)?;
                return Ok(dir);
            }
            // Never reuse what exists, whoever made it: try another name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{ATTEMPTS} random names under {} were all taken",
            base.display()
        ),
    ))
}

/// Checks (without following links) that `dir` is a directory of ours with mode 0700. A umask
/// can only have taken bits away from the mode it was made with; those are put back.
fn check_private(dir: &Path) -> io::Result<()> {
    let check = || -> io::Result<u32> {
        let m = std::fs::symlink_metadata(dir)?;
        if !m.is_dir() || m.uid() != euid() {
            return Err(refused(format!(
                "{} is not a directory of user {}",
                dir.display(),
                euid()
            )));
        }
        Ok(m.mode() & 0o7777)
    };
    if check()? != 0o700 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    match check()? {
        0o700 => Ok(()),
        mode => Err(refused(format!(
            "{} has mode {mode:o}, not 700",
            dir.display()
        ))),
    }
}

/// The socket name of a master connection: a keyed hash of everything that identifies the
/// connection, so that only BMCs that would make the same connection share one.
///
/// The hash is keyed with a random key of this process's because the socket path is on ssh's
/// command line, which every local user can read: a plain hash would let them test password
/// guesses against it. 64 bits keep the path short (a Unix socket path holds about 100 bytes,
/// and ssh adds 17 while it creates one) while a clash between two BMCs stays out of reach.
pub(crate) fn socket_name(
    options: &[OsString],
    host: &str,
    password: Option<&str>,
    askpass: Option<&Path>,
) -> String {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    keyed_socket_name(
        KEY.get_or_init(rand::random),
        options,
        host,
        password,
        askpass,
    )
}

fn keyed_socket_name(
    key: &[u8; 32],
    options: &[OsString],
    host: &str,
    password: Option<&str>,
    askpass: Option<&Path>,
) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    // Each field length-prefixed and the options counted, so that no two different settings
    // feed the same bytes.
    let mut field = |bytes: &[u8]| {
        mac.update(&(bytes.len() as u64).to_be_bytes());
        mac.update(bytes);
    };
    field(&(options.len() as u64).to_be_bytes());
    for o in options {
        field(o.as_bytes());
    }
    field(host.as_bytes());
    // Absent and empty differ: a tag before each optional field.
    match password {
        Some(p) => {
            field(b"password");
            field(p.as_bytes());
        }
        None => field(b"no password"),
    }
    match askpass {
        Some(a) => {
            field(b"askpass");
            field(a.as_os_str().as_bytes());
        }
        None => field(b"no askpass"),
    }
    let tag = mac.finalize().into_bytes();
    tag[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_and_owner(dir: &Path) -> (u32, u32, bool) {
        let m = std::fs::symlink_metadata(dir).unwrap();
        (m.mode() & 0o7777, m.uid(), m.file_type().is_dir())
    }

    fn config() -> crate::SshConfig {
        crate::SshConfig {
            host: "10.0.0.1".into(),
            port: 22,
            user: "root".into(),
            key_file: Some("/etc/keys/a".into()),
            password: None,
            known_hosts: "/etc/known_hosts".into(),
            connect_timeout: std::time::Duration::from_secs(5),
            command_timeout: std::time::Duration::from_secs(30),
            commands: crate::SshCommands::default(),
            unreachable: crate::Unreachable::Off,
            local_ipmitool: None,
            control_dir: "/run/ctl".into(),
            askpass: Some("/usr/bin/ipmi-to-metal".into()),
        }
    }

    fn socket(c: crate::SshConfig) -> PathBuf {
        crate::SshBackend::new(c).control_path
    }

    #[test]
    fn only_the_same_connection_shares_a_master() {
        let base = socket(config());
        // The same settings (another BMC making the same connection): the same master.
        assert_eq!(socket(config()), base);
        assert_eq!(base.parent(), Some(Path::new("/run/ctl")));
        // Short enough for a Unix socket path with ssh's temporary suffix.
        assert_eq!(base.file_name().unwrap().len(), 16);
        let password = |p: &str| Some(crate::SshPassword::new(p.into()));
        let others = [
            crate::SshConfig {
                key_file: Some("/etc/keys/b".into()),
                ..config()
            },
            crate::SshConfig {
                key_file: None,
                ..config()
            },
            crate::SshConfig {
                known_hosts: "/etc/other_known_hosts".into(),
                ..config()
            },
            crate::SshConfig {
                password: password("one"),
                ..config()
            },
            crate::SshConfig {
                password: password(""),
                ..config()
            },
            crate::SshConfig {
                askpass: None,
                ..config()
            },
            crate::SshConfig {
                connect_timeout: std::time::Duration::from_secs(9),
                ..config()
            },
            crate::SshConfig {
                user: "admin".into(),
                ..config()
            },
            crate::SshConfig {
                host: "10.0.0.2".into(),
                ..config()
            },
            crate::SshConfig {
                port: 2222,
                ..config()
            },
        ];
        let mut seen = std::collections::HashSet::from([base]);
        for c in others {
            let shown = format!("{c:?}");
            assert!(seen.insert(socket(c)), "shares a master: {shown}");
        }
        // Another password, another master; the same password, the same one.
        let p1 = socket(crate::SshConfig {
            password: password("one"),
            ..config()
        });
        let p2 = socket(crate::SshConfig {
            password: password("two"),
            ..config()
        });
        assert_ne!(p1, p2);
        assert_eq!(
            p1,
            socket(crate::SshConfig {
                password: password("one"),
                ..config()
            })
        );
    }

    #[test]
    fn socket_names_are_keyed() {
        // Names are on ssh's command line: without the process's secret key, nobody can test
        // password guesses against them.
        let opts = [OsString::from("-p"), OsString::from("22")];
        let name = |key: &[u8; 32]| keyed_socket_name(key, &opts, "h", Some("pw"), None::<&Path>);
        assert_ne!(name(&[1; 32]), name(&[2; 32]));
        assert_eq!(name(&[1; 32]), name(&[1; 32]));
        let a = keyed_socket_name(&[1; 32], &opts, "h", None, None);
        assert_ne!(a, name(&[1; 32]));
    }

    #[test]
    fn each_call_makes_a_fresh_private_directory() {
        let a = private_control_dir().unwrap();
        let b = private_control_dir().unwrap();
        assert_ne!(a, b);
        for d in [&a, &b] {
            assert_eq!(mode_and_owner(d), (0o700, euid(), true), "{}", d.display());
            assert_eq!(std::fs::read_dir(d).unwrap().count(), 0);
            std::fs::remove_dir(d).unwrap();
        }
    }

    #[test]
    fn what_exists_is_never_reused() {
        let base = tempfile::tempdir().unwrap();
        let b = base.path();
        // Someone prepared a directory of their liking, and a link to another.
        std::fs::create_dir(b.join("taken")).unwrap();
        std::fs::set_permissions(b.join("taken"), std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::write(b.join("taken/planted"), "x").unwrap();
        std::fs::create_dir(b.join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(b.join("elsewhere"), b.join("link")).unwrap();
        let mut names = ["taken", "link", "fresh"].into_iter();
        let dir = create_private_dir_in(b, || names.next().unwrap().to_string()).unwrap();
        assert_eq!(dir, b.join("fresh"));
        assert_eq!(mode_and_owner(&dir), (0o700, euid(), true));
        // Neither was touched.
        assert_eq!(mode_and_owner(&b.join("taken")).0, 0o777);
        assert!(b.join("taken/planted").exists());
        assert!(std::fs::symlink_metadata(b.join("link"))
            .unwrap()
            .file_type()
            .is_symlink());
        // When every name is taken, it gives up rather than reuse one.
        let e = create_private_dir_in(b, || "taken".to_string()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn a_shared_directory_without_the_sticky_bit_is_refused() {
        let base = tempfile::tempdir().unwrap();
        let open = base.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = create_private_dir_in(&open, || "x".into()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert!(!open.join("x").exists());
        // With the sticky bit (as /tmp has) it is fine.
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(create_private_dir_in(&open, || "x".into()).is_ok());
    }
}
