//! Opens the process's SEL database in its state directory (see `config::StateConfig`), and
//! what happens when that file is damaged (`sel_on_damage`): by default the process refuses to
//! start, with an error that names the file and says what to do (the file may hold events an
//! operator wants to keep, and a SEL that silently empties itself hides that something broke);
//! with `sel_on_damage = "move-aside"` the damaged file is renamed beside itself
//! (`sel.redb.damaged-TIME`) and the process starts with an empty SEL, with an error line that
//! says so (for fleets where every BMC staying down is worse than a lost SEL).

use crate::config::{SelOnDamage, StateConfig};
use sel_store::{SelStore, StoreError};
use std::path::Path;

/// Creates the state directory (private to the user) if needed and opens the SEL database.
/// Fails if another process has it open: one process per state directory. A damaged file is
/// an error or moved aside, as `state.on_damage` says; never a panic.
pub fn open_sel(state: &StateConfig) -> std::io::Result<SelStore> {
    let path = &state.sel_path;
    if let Some(dir) = path.parent() {
        crate::private_file::create_dir(dir).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot create the state directory {}: {e}", dir.display()),
            )
        })?;
    }
    // Created private to the user before the database library opens it (it would create it
    // with the umask's mode, world-readable under the usual 022).
    crate::private_file::ensure(path).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot create the SEL database {}: {e}", path.display()),
        )
    })?;
    let store = match open_quietly(path, state.sync) {
        Ok(s) => s,
        Err(e) if e.is_damage() => match state.on_damage {
            SelOnDamage::Refuse => {
                return Err(std::io::Error::other(format!(
                    "the SEL database {} is damaged ({e}); the process does not start. \
                     Move the file aside (keep it for analysis) to start with an empty SEL, or set \
                     sel_on_damage = \"move-aside\" in the configuration to have that done at start",
                    path.display()
                )))
            }
            SelOnDamage::MoveAside => {
                let aside = move_aside(path)?;
                crate::private_file::ensure(path)?;
                tracing::error!(
                    path = %path.display(),
                    moved_to = %aside.display(),
                    error = %e,
                    "the SEL database is damaged: moved aside (sel_on_damage = \"move-aside\"); \
                     every BMC starts with an EMPTY SEL"
                );
                open_quietly(path, state.sync).map_err(|e| cannot_open(path, &e))?
            }
        },
        Err(e) => return Err(cannot_open(path, &e)),
    };
    let sync = match state.sync {
        sel_store::Sync::EveryCommit => "each change fsync'd (sel_sync = \"fsync\")",
        sel_store::Sync::Written => "each change written, fsync'd within 1 s",
    };
    tracing::info!(path = %path.display(), capacity = state.sel_capacity, sync, "SEL database open");
    Ok(store)
}

fn cannot_open(path: &Path, e: &StoreError) -> std::io::Error {
    std::io::Error::other(format!(
        "cannot open the SEL database {}: {e}",
        path.display()
    ))
}

/// [`SelStore::open`] without the panic hook's message for a panic of redb on a damaged file:
/// [`SelStore::open`] catches it and returns it as an error, which the caller reports with the
/// file's name. (Only at start, before any BMC runs; the hook is put back at once.)
fn open_quietly(path: &Path, sync: sel_store::Sync) -> Result<SelStore, StoreError> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let opened = SelStore::open_with(path, sync);
    std::panic::set_hook(hook);
    opened
}

/// Renames the damaged `path` to `PATH.damaged-TIME` (UTC, so that several stay apart): the
/// new name.
fn move_aside(path: &Path) -> std::io::Result<std::path::PathBuf> {
    let stamp = crate::console_log::utc(std::time::SystemTime::now()).replace(':', "");
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".damaged-{stamp}"));
    let aside = std::path::PathBuf::from(name);
    std::fs::rename(path, &aside).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "cannot move the damaged SEL database {} aside to {}: {e}",
                path.display(),
                aside.display()
            ),
        )
    })?;
    Ok(aside)
}
