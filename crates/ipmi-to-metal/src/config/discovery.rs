//! `[[metal_discovery]]`: one BMC for every device of a Metal project that carries a tag, on
//! addresses from a pool, with the same users for all.
//!
//! ```toml
//! [[metal_discovery]]
//! project_id = "UUID"
//! tag = "ipmi"
//! token_env = "METAL_AUTH_TOKEN"          # or token_file; never the token itself
//! listen = "127.0.0.1:7000-7099"          # a port range, or a list of addresses
//! # api_url, allow_http, ipxe_script_url, refresh_s = 60, state_file = "FILE.toml.devices.json",
//! # cache_ms, timeout_ms, retries, deadline_ms, per_page = 100, name = "discovery-1",
//! # max_devices = 10000                   # a listing with more is refused (BMCs kept as they are)
//! # shard = "0/1"                         # "INDEX/COUNT" or "auto" (see crate::shard)
//! # and the session settings of a [[bmc]]: cipher_suites, ipmi15, auth_types, max_sessions,
//! # session_timeout, kg_env or kg_file, login_max_failures, login_lockout
//! [[metal_discovery.users]]
//! name = "admin"
//! password_env = "IPMI_PASSWORD"
//! privilege = "administrator"
//! ```

use super::bmc::BmcConfig;
use super::field_names::field_names;
use super::lan::{default_lan, derived_guid};
use super::session::{self, SessionToml};
use super::users::{users, UserToml};
use crate::shard::Shard;
use backend_config::{BackendConfig, ConfigError, Source};
use backend_metal::config::{self as metal, MetalKind, MetalSettings};
use ipmi_bmc::BmcSettings;
use ipmi_proto::session::ServerConfig;
use serde::{Deserialize, Deserializer};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;
use toml::Spanned;

/// A `[[metal_discovery]]` table: its own fields; the session settings in it are read by their
/// own pass ([`SessionToml`]).
pub(super) struct DiscoveryToml(DiscoveryFields);

/// The keys of a `[[metal_discovery]]`: [`DiscoveryFields`]' and the session settings.
fn fields() -> &'static [&'static str] {
    static FIELDS: OnceLock<&'static [&'static str]> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let all: Vec<&'static str> = field_names::<DiscoveryFields>()
            .iter()
            .chain(session::fields())
            .copied()
            .collect();
        Vec::leak(all)
    })
}

impl<'de> Deserialize<'de> for DiscoveryToml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // No backend tables to skip: only keys outside `fields` are refused, at their place.
        backend_config::tables::skip_backend_tables(d, fields(), &[], fields()).map(DiscoveryToml)
    }
}

/// Devices per listing unless `max_devices` says otherwise: a large fleet for one process, and
/// about 20 MB of device JSON at most (a Metal device is 1 to 2 KiB).
const DEFAULT_MAX_DEVICES: usize = 10_000;
/// The largest `max_devices`.
const MAX_MAX_DEVICES: u32 = 100_000;

/// The fields of a `[[metal_discovery]]` other than the session settings.
#[derive(Deserialize)]
struct DiscoveryFields {
    name: Option<String>,
    api_url: Option<Spanned<String>>,
    allow_http: Option<bool>,
    project_id: Spanned<String>,
    tag: Spanned<String>,
    token_env: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
    token: Option<Spanned<String>>,
    listen: Spanned<Pool>,
    state_file: Option<String>,
    refresh_s: Option<u64>,
    per_page: Option<u32>,
    max_devices: Option<Spanned<u32>>,
    ipxe_script_url: Option<Spanned<String>>,
    cache_ms: Option<u64>,
    timeout_ms: Option<u64>,
    retries: Option<u32>,
    deadline_ms: Option<Spanned<u64>>,
    shard: Option<Spanned<String>>,
    #[serde(default)]
    users: Vec<Spanned<UserToml>>,
}

/// A `listen` pool as written: `IP:FIRST-LAST` or a list of `IP:PORT`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum Pool {
    Range(String),
    List(Vec<String>),
}

/// A discovery, validated: what it lists (its source) and what every BMC it starts shares.
#[derive(Clone)]
pub struct DiscoveryConfig {
    /// For logs and `list`.
    pub name: String,
    /// What it lists, and the backend each machine it finds gets.
    pub source: DiscoverySource,
    /// The addresses the BMCs get, in order.
    pub pool: Vec<SocketAddr>,
    /// Where each machine's address is kept across restarts.
    pub state_file: PathBuf,
    /// The machines this process serves.
    pub shard: Shard,
    /// How often the source is listed again.
    pub refresh: Duration,
    /// Users, cipher suites and limits shared by every discovered BMC.
    pub server: ServerConfig,
    /// What in its settings is weaker than the defaults (for every BMC it starts).
    pub warnings: Vec<String>,
}

/// What a discovery lists.
#[derive(Clone)]
pub enum DiscoverySource {
    /// `[[metal_discovery]]`: the devices of a Metal project with a tag.
    Metal(MetalSource),
    /// `[[libvirt_discovery]]`: the domains of a libvirt host ([`super::libvirt_discovery`], [`super::libvirt_source`]).
    Libvirt(super::libvirt_source::LibvirtSource),
}

/// The Metal project and tag of a `[[metal_discovery]]`.
#[derive(Clone)]
pub struct MetalSource {
    /// The project whose devices are served.
    pub project_id: String,
    /// Only devices with this tag.
    pub tag: String,
    /// Devices per page when listing.
    pub per_page: u32,
    /// The most devices one listing may hold (the whole listing, every shard's): a listing
    /// with more is refused, as a partial one would make the devices after it look gone.
    pub max_devices: usize,
    /// Endpoint, token and call policy; the device id is filled in per device.
    pub metal: MetalSettings,
}

impl DiscoveryConfig {
    /// The BMC of one discovered machine (`id`: its device id or domain UUID).
    pub fn bmc(&self, name: &str, id: &str, listen: SocketAddr) -> BmcConfig {
        let mut server = ServerConfig {
            guid: derived_guid(name),
            ..self.server.clone()
        };
        // Serial over LAN runs on the BMC's own port.
        server.sol.port = listen.port();
        let backend = match &self.source {
            DiscoverySource::Metal(m) => {
                let mut metal = m.metal.clone();
                metal.device.device_id = id.to_string();
                BackendConfig::of::<MetalKind>(metal)
            }
            DiscoverySource::Libvirt(l) => l.backend(id),
        };
        BmcConfig {
            settings: BmcSettings::from_server(name, &server, default_lan(name, &listen)),
            server,
            listen,
            backend,
            extra: Vec::new(),
            routes: None,
            // Said once for the discovery at start, not again for every device.
            warnings: Vec::new(),
            console: Default::default(),
            // A discovered BMC's own Redfish service comes from `[redfish] per_bmc_port`.
            redfish_listen: None,
        }
    }

    /// Its table's name (`metal_discovery`, `libvirt_discovery`), for messages.
    pub fn table(&self) -> &'static str {
        match &self.source {
            DiscoverySource::Metal(_) => "metal_discovery",
            DiscoverySource::Libvirt(_) => "libvirt_discovery",
        }
    }

    /// What it lists, for `check-config` and `list`.
    pub fn describe(&self) -> String {
        match &self.source {
            DiscoverySource::Metal(m) => format!(
                "project {} tag {:?} at {}",
                m.project_id, m.tag, m.metal.api_url
            ),
            DiscoverySource::Libvirt(l) => l.describe(),
        }
    }
}

/// The most addresses a pool may hold.
const MAX_POOL: usize = 65_536;

pub(super) fn pool(src: &Source, p: &Spanned<Pool>) -> Result<Vec<SocketAddr>, ConfigError> {
    let bad = |what: &str| src.err(p.span(), what.to_string());
    match p.get_ref() {
        Pool::Range(r) => {
            let (ip, ports) = r
                .rsplit_once(':')
                .ok_or_else(|| bad("listen: expected IP:FIRST-LAST or a list of IP:PORT"))?;
            let ip: IpAddr = ip
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| bad("listen: bad IP address"))?;
            let (first, last) = match ports.split_once('-') {
                Some((a, b)) => (a.parse::<u16>(), b.parse::<u16>()),
                None => (ports.parse::<u16>(), ports.parse::<u16>()),
            };
            let (Ok(first), Ok(last)) = (first, last) else {
                return Err(bad("listen: bad port range"));
            };
            if first == 0 || last < first {
                return Err(bad(
                    "listen: the port range must be FIRST-LAST with 0 < FIRST <= LAST",
                ));
            }
            Ok((first..=last)
                .map(|port| SocketAddr::new(ip, port))
                .collect())
        }
        Pool::List(list) => {
            let mut out = Vec::new();
            for a in list {
                let addr: SocketAddr = a
                    .parse()
                    .map_err(|_| bad(&format!("listen: bad address {a:?}: expected IP:PORT")))?;
                if out.contains(&addr) {
                    return Err(bad(&format!("listen: {addr} is listed twice")));
                }
                out.push(addr);
            }
            if out.is_empty() || out.len() > MAX_POOL {
                return Err(bad("listen: give 1 to 65536 addresses"));
            }
            Ok(out)
        }
    }
}

/// What every kind of discovery table has besides its source: name, pool, state file, shard,
/// refresh, users and session settings.
pub(super) struct Common<'a> {
    /// The table's name in messages (`metal_discovery`).
    pub table: &'static str,
    /// Its place in its list (for the default name).
    pub index: usize,
    /// The table's span.
    pub span: std::ops::Range<usize>,
    pub name: Option<&'a String>,
    pub listen: &'a Spanned<Pool>,
    pub state_file: Option<&'a String>,
    pub refresh_s: Option<u64>,
    /// The refresh when `refresh_s` is not given.
    pub default_refresh_s: u64,
    pub shard: Option<&'a Spanned<String>>,
    pub users: &'a [Spanned<UserToml>],
    pub session: &'a SessionToml,
    /// The state directory if one was chosen (the `state_dir` key or `$STATE_DIRECTORY`),
    /// where the state file then goes by default.
    pub state_dir: Option<&'a Path>,
}

/// The discovery of `c` with `source` (its warnings added to the session's).
pub(super) fn common(
    src: &Source,
    c: Common,
    source: DiscoverySource,
    source_warnings: Vec<String>,
) -> Result<DiscoveryConfig, ConfigError> {
    let name = c
        .name
        .cloned()
        .unwrap_or_else(|| format!("discovery-{}", c.index + 1));
    let users = users(
        src,
        c.span.clone(),
        &format!("{} {name:?}", c.table),
        &format!("[[{}.users]]", c.table),
        c.users,
    )?;
    // The metal discovery's state file keeps its name from before there were other kinds.
    let suffix = match source {
        DiscoverySource::Metal(_) => "devices",
        DiscoverySource::Libvirt(_) => "domains",
    };
    let beside_config = || {
        src.path(&format!(
            "{}.{name}.{suffix}.json",
            Path::new(src.file())
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| "ipmi-to-metal".into())
        ))
    };
    let state_file = match (c.state_file, c.state_dir) {
        (Some(f), _) => src.path(f),
        // One kept beside the configuration from before is kept there: a new file would give
        // every device a new address.
        (None, Some(dir)) => Some(dir.join(format!("{name}.{suffix}.json")))
            .filter(|new| new.exists() || !beside_config().exists())
            .unwrap_or_else(beside_config),
        (None, None) => beside_config(),
    };
    let shard = match c.shard {
        Some(s) => Shard::parse(s.get_ref()).map_err(|e| src.err(s.span(), e))?,
        None => Shard::default(),
    };
    let pool = pool(src, c.listen)?;
    let (server, mut warnings) = session::server_config(src, c.span, c.session, users)?;
    warnings.extend(source_warnings);
    Ok(DiscoveryConfig {
        name,
        source,
        pool,
        state_file,
        shard,
        refresh: Duration::from_secs(c.refresh_s.unwrap_or(c.default_refresh_s).max(1)),
        server,
        warnings,
    })
}

/// Discovery `index` of the file's `[[metal_discovery]]` tables; `state_dir` is the state
/// directory if one was chosen.
pub(super) fn discovery(
    src: &Source,
    index: usize,
    d: &Spanned<DiscoveryToml>,
    session: &SessionToml,
    state_dir: Option<&Path>,
) -> Result<DiscoveryConfig, ConfigError> {
    let span = d.span();
    let t = &d.get_ref().0;
    let access = metal::access(
        src,
        span.clone(),
        "[[metal_discovery]]",
        t.api_url.as_ref(),
        t.allow_http,
        t.token_env.as_ref(),
        t.token_file.as_ref(),
        t.token.as_ref(),
    )?;
    let project_id = t.project_id.get_ref().trim().to_lowercase();
    if backend_metal::guid_of(&project_id).is_none() {
        return Err(src.err(t.project_id.span(), "project_id must be the project's UUID"));
    }
    if t.tag.get_ref().trim().is_empty() {
        return Err(src.err(
            t.tag.span(),
            "tag must not be empty: it selects the devices",
        ));
    }
    let metal = MetalSettings {
        api_url: access.api_url,
        token: access.token,
        policy: metal::policy(t.timeout_ms, t.retries),
        device: metal::device(
            String::new(),
            metal::ipxe_url(src, t.ipxe_script_url.as_ref())?,
            t.cache_ms,
            t.deadline_ms.as_ref(),
        ),
    };
    metal::longest_call(t.deadline_ms.as_ref(), &metal.device).check(
        src,
        "[[metal_discovery]]",
        span.clone(),
    )?;
    let warnings = backend_config::BackendSettings::warnings(&metal);
    let max_devices = match &t.max_devices {
        None => DEFAULT_MAX_DEVICES,
        Some(m) if (1..=MAX_MAX_DEVICES).contains(m.get_ref()) => *m.get_ref() as usize,
        Some(m) => {
            return Err(src.err(
                m.span(),
                format!("max_devices must be 1 to {MAX_MAX_DEVICES}"),
            ))
        }
    };
    let source = DiscoverySource::Metal(MetalSource {
        project_id,
        tag: t.tag.get_ref().trim().to_string(),
        per_page: t.per_page.unwrap_or(100).clamp(1, 1000),
        max_devices,
        metal,
    });
    let c = Common {
        table: "metal_discovery",
        index,
        span,
        name: t.name.as_ref(),
        listen: &t.listen,
        state_file: t.state_file.as_ref(),
        refresh_s: t.refresh_s,
        default_refresh_s: 60,
        shard: t.shard.as_ref(),
        users: &t.users,
        session,
        state_dir,
    };
    common(src, c, source, warnings)
}
