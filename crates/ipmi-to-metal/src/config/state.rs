//! Where the process keeps what must outlive it: the top-level `state_dir`, `sel_capacity`,
//! `sel_on_damage` and `sel_sync` keys. The System Event Log of every BMC lives in one database file there (`sel.redb`).
//!
//! `state_dir` defaults to `$STATE_DIRECTORY` (what systemd's `StateDirectory=` sets) if set,
//! else to `FILE.state` beside the configuration file `FILE`; a relative `state_dir` is relative
//! to the configuration file. `serve` without a configuration file keeps its SEL in
//! `$STATE_DIRECTORY`, else `$XDG_STATE_HOME/ipmi-to-metal`, else
//! `~/.local/state/ipmi-to-metal`, in `sel-ADDRESS_PORT.redb` (one file per listen address, so
//! that several such processes can run side by side).
//!
//! When the state directory was chosen (the key, or `$STATE_DIRECTORY`), the discoveries keep
//! their state files there too (a configuration file in `/etc` or a Kubernetes ConfigMap is not
//! writable), unless one from before is beside the configuration file; otherwise beside the
//! configuration file.

use backend_config::{ConfigError, Source};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Where the SEL database is and how many records each BMC's log holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateConfig {
    /// The SEL database file.
    pub sel_path: PathBuf,
    /// Records per BMC (Add SEL Entry answers 0xC4 beyond that).
    pub sel_capacity: u16,
    /// What to do when the SEL database is damaged (`sel_on_damage`).
    pub on_damage: SelOnDamage,
    /// When a SEL change reaches the disk (`sel_sync`).
    pub sync: sel_store::Sync,
}

/// What the process does at start when its SEL database file is damaged (the top-level key
/// `sel_on_damage`; see `crate::state`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SelOnDamage {
    /// `"refuse"` (the default): do not start; the error names the file and what to do.
    #[default]
    Refuse,
    /// `"move-aside"`: rename the file `sel.redb.damaged-TIME` and start with an empty SEL.
    MoveAside,
}

/// The SEL database's file name in the state directory.
const SEL_FILE: &str = "sel.redb";

/// The first directory of `$STATE_DIRECTORY` (systemd gives a colon-separated list).
fn systemd_state_dir() -> Option<PathBuf> {
    let v = std::env::var_os("STATE_DIRECTORY")?;
    let first = v.to_string_lossy().split(':').next()?.to_string();
    (!first.is_empty()).then(|| PathBuf::from(first))
}

/// The state directory if one was chosen: the `state_dir` key (relative to the configuration
/// file), else `$STATE_DIRECTORY`. Discovery keeps its state files there when there is one.
pub(crate) fn chosen_dir(src: &Source, state_dir: Option<&Spanned<String>>) -> Option<PathBuf> {
    match state_dir {
        Some(d) if !d.get_ref().trim().is_empty() => Some(src.dir().join(d.get_ref())),
        Some(_) => None,
        None => systemd_state_dir(),
    }
}

/// The state of a configuration file's process, from its top-level keys.
pub(crate) fn state(
    src: &Source,
    state_dir: Option<&Spanned<String>>,
    sel_capacity: Option<&Spanned<u32>>,
    on_damage: Option<&Spanned<String>>,
    sync: Option<&Spanned<String>>,
) -> Result<StateConfig, ConfigError> {
    let dir = match state_dir {
        Some(d) if d.get_ref().trim().is_empty() => {
            return Err(src.err(d.span(), "state_dir must not be empty"))
        }
        Some(d) => src.dir().join(d.get_ref()),
        None => systemd_state_dir().unwrap_or_else(|| {
            let name = Path::new(src.file())
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| "ipmi-to-metal".into());
            src.dir().join(format!("{name}.state"))
        }),
    };
    let sel_capacity = match sel_capacity {
        None => sel_store::DEFAULT_CAPACITY,
        Some(c) => u16::try_from(*c.get_ref())
            .ok()
            .filter(|c| (1..=sel_store::MAX_CAPACITY).contains(c))
            .ok_or_else(|| {
                src.err(
                    c.span(),
                    format!(
                        "sel_capacity must be 1 to {} records",
                        sel_store::MAX_CAPACITY
                    ),
                )
            })?,
    };
    let on_damage = match on_damage.map(|d| (d, d.get_ref().as_str())) {
        None | Some((_, "refuse")) => SelOnDamage::Refuse,
        Some((_, "move-aside")) => SelOnDamage::MoveAside,
        Some((d, _)) => {
            return Err(src.err(
                d.span(),
                "sel_on_damage must be \"refuse\" or \"move-aside\"",
            ))
        }
    };
    let sync = match sync.map(|d| (d, d.get_ref().as_str())) {
        // The default keeps what the project promises of acknowledged data (it survives
        // `kill -9`) at 1.7 times the power actions a second; `fsync` adds a power loss.
        Some((_, "fsync")) => sel_store::Sync::EveryCommit,
        None | Some((_, "written")) => sel_store::Sync::Written,
        Some((d, _)) => return Err(src.err(d.span(), "sel_sync must be \"fsync\" or \"written\"")),
    };
    Ok(StateConfig {
        sel_path: dir.join(SEL_FILE),
        sel_capacity,
        on_damage,
        sync,
    })
}

/// The state of `serve` without a configuration file, whose one BMC listens on `listen`.
pub fn built_in(listen: SocketAddr) -> StateConfig {
    let dir = systemd_state_dir()
        .or_else(|| {
            std::env::var_os("XDG_STATE_HOME").map(|d| PathBuf::from(d).join("ipmi-to-metal"))
        })
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state/ipmi-to-metal"))
        })
        .unwrap_or_else(|| std::env::temp_dir().join("ipmi-to-metal"));
    StateConfig {
        sel_path: dir.join(format!(
            "sel-{}.redb",
            listen.to_string().replace([':', '[', ']'], "_")
        )),
        sel_capacity: sel_store::DEFAULT_CAPACITY,
        on_damage: SelOnDamage::Refuse,
        sync: sel_store::Sync::EveryCommit,
    }
}
