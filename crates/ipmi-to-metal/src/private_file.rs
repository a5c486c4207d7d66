//! The files the process writes (the SEL database, the audit log, the console logs, a
//! discovery's state file) and their directories: private to the user it runs as, whatever
//! the umask and whatever mode a file was left with (a file created 0644 by an older version is
//! made 0600 when it is opened), and never written through a symbolic link planted at the
//! file's name (`O_NOFOLLOW`: the open fails with "Too many levels of symbolic links").

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The mode of every file the process creates.
pub const FILE_MODE: u32 = 0o600;
/// The mode of every directory the process creates.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` and its missing parents, private to the user (an existing one is left as
/// it is: the operator may have made it).
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}

/// Creates the parent directory of `path` if it has one ([`create_dir`]).
pub fn create_parent(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => create_dir(dir),
        None => Ok(()),
    }
}

fn options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.mode(FILE_MODE).custom_flags(libc::O_NOFOLLOW);
    o
}

/// Opens `path` for appending, creating it private to the user, not through a symbolic link.
pub fn open_append(path: &Path) -> std::io::Result<File> {
    let file = options().create(true).append(true).open(path)?;
    make_private(&file)?;
    Ok(file)
}

/// Creates `path` if it is missing, private to the user, or makes it so (for a file another
/// library opens afterwards: the SEL database).
pub fn ensure(path: &Path) -> std::io::Result<()> {
    let file = options().create(true).write(true).open(path)?;
    make_private(&file)
}

/// Replaces `path` with `bytes` whole: written to `PATH.tmp` (private to the user), then
/// renamed over it.
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = options()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&tmp)?;
    make_private(&file)?;
    file.write_all(bytes)?;
    drop(file);
    std::fs::rename(&tmp, path)
}

/// Takes group and other permissions away from a regular file that has them (not from a
/// device such as `/dev/null`, which is not the process's).
fn make_private(file: &File) -> std::io::Result<()> {
    let meta = file.metadata()?;
    if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn files_are_private_whatever_their_mode_before() {
        let dir = tempfile::tempdir().unwrap();
        let made = dir.path().join("a/b/new.log");
        create_parent(&made).unwrap();
        open_append(&made).unwrap();
        assert_eq!(mode(&made), 0o600);
        assert_eq!(mode(&dir.path().join("a/b")), 0o700);
        let old = dir.path().join("old.log");
        std::fs::write(&old, "kept\n").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        open_append(&old).unwrap().write_all(b"more\n").unwrap();
        assert_eq!(mode(&old), 0o600);
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "kept\nmore\n");
        let db = dir.path().join("sel.redb");
        ensure(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        let state = dir.path().join("state.json");
        replace(&state, b"{}").unwrap();
        assert_eq!(mode(&state), 0o600);
        // Not a file of the process's: left alone.
        open_append(Path::new("/dev/null")).unwrap();
        assert_eq!(mode(Path::new("/dev/null")), 0o666);
    }

    #[test]
    fn a_symbolic_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "").unwrap();
        let link = dir.path().join("audit.jsonl");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = open_append(&link).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP), "{e}");
        assert!(ensure(&link).is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"");
    }
}
