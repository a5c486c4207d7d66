//! The configuration file: one `[[bmc]]` table per BMC and one `[[metal_discovery]]` table per
//! tagged Metal project, validated as a whole before anything starts. Every error names the file,
//! the line and column, and what is wrong.
//!
//! The rooms: [`document`] (the text parsed once, each pass over it given its part), [`admin`]
//! (the admin HTTP server), [`audit`] (where the audit log goes), [`bmc`] (a BMC's own fields),
//! [`session`] (the session and security settings a
//! `[[bmc]]` and a `[[metal_discovery]]` share), [`users`], [`lan`] (LAN parameters, GUID),
//! [`backend_set`] (which backends a BMC uses, each validated by its kind, and their time
//! limits), [`routes`], [`discovery`], [`warnings`] (what is weaker than the defaults); here the
//! file as a whole and the checks across BMCs. Each backend's table belongs to its kind
//! ([`crate::kinds`]).

pub mod admin;
mod audit;
mod backend_set;
mod bmc;
mod console;
mod discovery;
mod document;
mod field_names;
#[cfg(test)]
mod fuzz_twin;
pub mod ipxe;
mod lan;
mod libvirt_discovery;
#[cfg(test)]
mod libvirt_media_tests;
mod libvirt_source;
pub mod redfish;
mod refresh;
mod routes;
mod session;
#[cfg(test)]
mod session_tests;
mod state;
#[cfg(test)]
mod tests;
mod users;
mod warnings;

pub use admin::AdminConfig;
pub use audit::{default_target as default_audit_target, AuditTarget};
pub use backend_config::ConfigError;
pub use bmc::BmcConfig;
pub use console::ConsoleSettings;
pub use discovery::{DiscoveryConfig, DiscoverySource};
pub use ipxe::IpxeConfig;
pub use redfish::RedfishConfig;
pub use refresh::RefreshIntervals;
pub use state::{built_in as built_in_state, SelOnDamage, StateConfig};
pub use warnings::grouped as grouped_warnings;

use crate::kinds::KINDS;
use backend_config::tables::Table;
use backend_config::Source;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use toml::Spanned;

/// A whole configuration file.
pub struct Config {
    /// The BMCs written out one by one.
    pub bmcs: Vec<BmcConfig>,
    /// The Metal projects whose tagged devices get a BMC each.
    pub discovery: Vec<DiscoveryConfig>,
    /// Where the SEL database is, and each log's capacity.
    pub state: StateConfig,
    /// The admin HTTP server, if `[admin] listen` is set.
    pub admin: Option<AdminConfig>,
    /// The Redfish services, if `[redfish] listen` or `per_bmc_port` or a BMC's
    /// `redfish_listen` is set.
    pub redfish: Option<RedfishConfig>,
    /// Where the audit log goes (`[audit]`).
    pub audit: AuditTarget,
    /// `[audit] fail_open`: requests whose records cannot be written are carried out anyway.
    pub audit_fail_open: bool,
    /// The iPXE script endpoint, if `[ipxe]` is there.
    pub ipxe: Option<IpxeConfig>,
}

impl Config {
    /// What in the configuration is weaker than the defaults: whose (`bmc "node1"`,
    /// `metal_discovery "rack-a"`, for all the BMCs it starts) and what, one line each.
    pub fn warnings(&self) -> Vec<(String, &str)> {
        let bmcs = self.bmcs.iter().flat_map(|b| {
            b.warnings
                .iter()
                .map(|w| (format!("bmc {:?}", b.settings.name), w))
        });
        let discoveries = self.discovery.iter().flat_map(|d| {
            d.warnings
                .iter()
                .map(|w| (format!("metal_discovery {:?}", d.name), w))
        });
        let admin = self
            .admin
            .iter()
            .flat_map(|a| a.warnings.iter().map(|w| ("admin".to_string(), w)));
        let redfish = self
            .redfish
            .iter()
            .flat_map(|r| r.warnings.iter().map(|w| ("redfish".to_string(), w)));
        let ipxe = self
            .ipxe
            .iter()
            .flat_map(|i| i.warnings.iter().map(|w| ("ipxe".to_string(), w)));
        bmcs.chain(discoveries)
            .chain(admin)
            .chain(redfish)
            .chain(ipxe)
            .map(|(who, w)| (who, w.as_str()))
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    bmc: Vec<Spanned<bmc::BmcToml>>,
    #[serde(default)]
    metal_discovery: Vec<Spanned<discovery::DiscoveryToml>>,
    #[serde(default)]
    libvirt_discovery: Vec<Spanned<libvirt_discovery::LibvirtDiscoveryToml>>,
    state_dir: Option<Spanned<String>>,
    sel_capacity: Option<Spanned<u32>>,
    sel_on_damage: Option<Spanned<String>>,
    sel_sync: Option<Spanned<String>>,
    admin: Option<Spanned<admin::AdminToml>>,
    redfish: Option<Spanned<redfish::RedfishToml>>,
    audit: Option<audit::AuditToml>,
    ipxe: Option<Spanned<ipxe::IpxeToml>>,
}

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("{}: cannot read: {e}", path.display())))?;
    parse_all(
        &path.display().to_string(),
        &text,
        path.parent().unwrap_or(Path::new(".")),
    )
}

/// Parses and validates configuration text with `[[bmc]]` tables only.
pub fn parse(file: &str, text: &str, dir: &Path) -> Result<Vec<BmcConfig>, ConfigError> {
    parse_all(file, text, dir).map(|c| c.bmcs)
}

/// Parses and validates configuration text; `dir` resolves relative `password_file` paths.
pub fn parse_all(file: &str, text: &str, dir: &Path) -> Result<Config, ConfigError> {
    parse_with(file, text, dir, document::read)
}

/// [`parse_all`] with the text read by `read` (one of [`document`]'s readers).
fn parse_with(
    file: &str,
    text: &str,
    dir: &Path,
    read: fn(&Source) -> Result<Read, ConfigError>,
) -> Result<Config, ConfigError> {
    let src = Source::new(file, text, dir);
    let Read {
        own: parsed,
        mut sessions,
        mut tables,
        bases,
    } = read(&src)?;
    let (state_dir, sel_capacity) = (parsed.state_dir.clone(), parsed.sel_capacity.clone());
    if parsed.bmc.is_empty()
        && parsed.metal_discovery.is_empty()
        && parsed.libvirt_discovery.is_empty()
    {
        // About the whole file: at its start, so that it too reads FILE:LINE:COL.
        return Err(src.err(
            0..0,
            "no [[bmc]], [[metal_discovery]] or [[libvirt_discovery]] table: nothing to serve",
        ));
    }
    let state = state::state(
        &src,
        state_dir.as_ref(),
        sel_capacity.as_ref(),
        parsed.sel_on_damage.as_ref(),
        parsed.sel_sync.as_ref(),
    )?;
    // Where the process keeps its files (the SEL's directory), for backends that keep some.
    let state_files = state.sel_path.parent().map(Path::to_path_buf);
    let mut listens: HashMap<SocketAddr, String> = HashMap::new();
    // The BMCs' own Redfish services (TCP), by address.
    let mut redfish_listens: HashMap<SocketAddr, String> = HashMap::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(parsed.bmc.len());
    for (i, (b, base)) in parsed.bmc.into_iter().zip(bases).enumerate() {
        let src = src.part_from(base);
        let span = b.span();
        let b = b.into_inner().0;
        let (name_span, listen_span) = (b.name.span(), b.listen.span());
        let redfish_span = b.redfish_listen.as_ref().map(Spanned::span);
        // Each BMC's parts are let go once it is read.
        let session = std::mem::take(&mut sessions.bmc[i]);
        let own: Vec<_> = KINDS
            .iter()
            .zip(&mut tables)
            .map(|(k, t)| (*k, t.get_mut(i).and_then(Option::take)))
            .collect();
        let own: Vec<_> = own.iter().map(|(k, t)| (*k, t.as_ref())).collect();
        let c = bmc::bmc(&src, span, b, &session, &own, state_files.as_deref())?;
        if !names.insert(c.settings.name.clone()) {
            return Err(src.err(
                name_span,
                format!("duplicate bmc name {:?}", c.settings.name),
            ));
        }
        if let Some(other) = listens.insert(c.listen, c.settings.name.clone()) {
            return Err(src.err(
                listen_span,
                format!(
                    "duplicate listen address {} (already used by bmc {other:?})",
                    c.listen
                ),
            ));
        }
        if let (Some(addr), Some(span)) = (c.redfish_listen, redfish_span) {
            if let Some(other) = redfish_listens.insert(addr, c.settings.name.clone()) {
                return Err(src.err(
                    span,
                    format!(
                        "duplicate redfish_listen address {addr} (already used by bmc {other:?})"
                    ),
                ));
            }
        }
        out.push(c);
    }
    let redfish = redfish::redfish(&src, parsed.redfish.as_ref(), &redfish_listens)?;
    let mut discoveries: Vec<DiscoveryConfig> = Vec::new();
    // Addresses of the pools so far, by discovery (the static ones are in `listens`).
    let mut pooled: HashMap<SocketAddr, String> = HashMap::new();
    let state_dir_chosen = state::chosen_dir(&src, state_dir.as_ref());
    let metal = parsed.metal_discovery.iter().zip(&sessions.metal_discovery);
    let metal = metal.enumerate().map(|(i, (d, session))| {
        (
            d.span(),
            discovery::discovery(&src, i, d, session, state_dir_chosen.as_deref()),
        )
    });
    let libvirt = parsed
        .libvirt_discovery
        .iter()
        .zip(&sessions.libvirt_discovery);
    let libvirt = libvirt.enumerate().map(|(i, (d, session))| {
        (
            d.span(),
            libvirt_discovery::discovery(
                &src,
                i,
                d,
                session,
                state_dir_chosen.as_deref(),
                state_files.as_deref(),
            ),
        )
    });
    for (span, c) in metal.chain(libvirt) {
        let c = c?;
        if let Some(o) = discoveries.iter().find(|o| o.name == c.name) {
            return Err(src.err(
                span,
                format!(
                    "duplicate {} name {:?} (it names the state file; {} {:?} has it)",
                    c.table(),
                    c.name,
                    o.table(),
                    o.name
                ),
            ));
        }
        for addr in &c.pool {
            let by = match (listens.get(addr), pooled.get(addr)) {
                (Some(bmc), _) => Some(format!("bmc {bmc:?}")),
                (None, Some(other)) => Some(other.clone()),
                (None, None) => None,
            };
            if let Some(by) = by {
                return Err(src.err(
                    span,
                    format!("the listen pool includes {addr}, already used by {by}"),
                ));
            }
            pooled.insert(*addr, format!("{} {:?}", c.table(), c.name));
        }
        discoveries.push(c);
    }
    Ok(Config {
        bmcs: out,
        discovery: discoveries,
        state,
        admin: admin::admin(&src, parsed.admin.as_ref())?,
        redfish,
        audit: audit::audit(&src, parsed.audit.as_ref())?,
        audit_fail_open: parsed.audit.as_ref().is_some_and(|a| a.fail_open),
        ipxe: ipxe::ipxe(&src, parsed.ipxe.as_ref())?,
    })
}

/// Each kind's table of every `[[bmc]]`: by kind (as in [`KINDS`]), then by BMC.
type KindTables = Vec<Vec<Option<Table>>>;

/// What the passes over the text read ([`document`]).
struct Read {
    /// The file's own tables.
    own: FileToml,
    /// The session settings of each `[[bmc]]` and `[[metal_discovery]]`.
    sessions: session::FileSessions,
    /// Each kind's tables.
    tables: KindTables,
    /// Where the places of each `[[bmc]]` count from: the start of the part of the text it was
    /// read in ([`Source::part_from`]).
    bases: Vec<usize>,
}
