//! Opens the process's SEL database in its state directory (see `config::StateConfig`).

use crate::config::StateConfig;
use sel_store::SelStore;

/// Creates the state directory (private to the user) if needed and opens the SEL database.
/// Fails if another process has it open: one process per state directory.
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
    let store = SelStore::open(path).map_err(|e| {
        std::io::Error::other(format!(
            "cannot open the SEL database {}: {e}",
            path.display()
        ))
    })?;
    tracing::info!(path = %path.display(), capacity = state.sel_capacity, "SEL database open");
    Ok(store)
}
