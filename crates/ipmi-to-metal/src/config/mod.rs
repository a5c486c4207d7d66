//! The configuration file: one `[[bmc]]` table per BMC and one `[[metal_discovery]]` table per
//! tagged Metal project, validated as a whole before anything starts. Every error names the file,
//! the line and column, and what is wrong.

mod backends;
mod discovery;
mod state;

pub use discovery::DiscoveryConfig;
pub use state::{built_in as built_in_state, StateConfig};

use backend_ipmi::{IpmiBackendConfig, RelayRule};
use backend_sim::SimConfig;
use ipmi_bmc::{BmcSettings, LanInfo};
use ipmi_client::Retry;
use ipmi_proto::session::cipher_suite::CipherSuite;
use ipmi_proto::session::{
    AuthTypes, ClientConfig, Interface, LoginPolicy, Secret, ServerConfig, User,
};
use ipmi_proto::types::{NetFn, Privilege};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// A configuration error, already formatted as `FILE:LINE:COL: message`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Everything needed to start one BMC.
pub struct BmcConfig {
    /// The BMC model's settings.
    pub settings: BmcSettings,
    /// The session layer's configuration (users with their passwords, cipher suites, limits).
    pub server: ServerConfig,
    /// The UDP address to serve on.
    pub listen: SocketAddr,
    /// The backend that carries out every operation without a route of its own.
    pub backend: BackendConfig,
    /// The other backends that `[bmc.routes]` names.
    pub extra: Vec<BackendConfig>,
    /// Which backend does what, if `[bmc.routes]` is given.
    pub routes: Option<ipmi_bmc::routing::RouteTable>,
}

/// Which backend a BMC uses, with its settings.
pub enum BackendConfig {
    /// The built-in simulated machine.
    Sim(SimConfig),
    /// A real BMC behind, over RMCP+ or IPMI 1.5.
    Ipmi(IpmiBackendConfig),
    /// A device of the Equinix Metal API (or a compatible endpoint).
    Metal(MetalBackendConfig),
    /// Commands on the host over SSH.
    Ssh(Box<backend_ssh::SshConfig>),
    /// A configured program per operation.
    Command(backend_command::CommandConfig),
}

/// The metal backend of one BMC.
#[derive(Clone)]
pub struct MetalBackendConfig {
    /// The API endpoint, e.g. `https://api.equinix.com/metal/v1`.
    pub api_url: String,
    /// The API token (from the environment or a file).
    pub token: zeroize::Zeroizing<String>,
    /// Timeouts and retries of each API call.
    pub policy: backend_metal::api::Policy,
    /// The device and its cache and boot settings.
    pub device: backend_metal::MetalConfig,
}

/// The Metal API endpoint when `api_url` is not given.
pub const DEFAULT_METAL_API: &str = "https://api.equinix.com/metal/v1";

impl BackendConfig {
    /// The backend's name as `backend` and `[bmc.routes]` give it.
    pub fn kind(&self) -> &'static str {
        match self {
            BackendConfig::Sim(_) => "sim",
            BackendConfig::Ipmi(_) => "ipmi",
            BackendConfig::Metal(_) => "metal",
            BackendConfig::Ssh(_) => "ssh",
            BackendConfig::Command(_) => "command",
        }
    }

    /// The backend with its target, for `check-config`.
    pub fn describe(&self) -> String {
        match self {
            BackendConfig::Sim(_) => "sim".into(),
            BackendConfig::Ssh(c) => format!(
                "ssh {}@{}:{}{}",
                c.user,
                c.host,
                c.port,
                if c.local_ipmitool.is_some() {
                    " (the host's ipmitool)"
                } else {
                    ""
                }
            ),
            BackendConfig::Command(c) => format!(
                "command ({} programs, timeout {:?})",
                c.ops.len() + usize::from(c.run.is_some()),
                c.timeout
            ),
            BackendConfig::Metal(m) => format!(
                "metal device {} at {}{}",
                m.device.device_id,
                m.api_url,
                m.device
                    .ipxe_script_url
                    .as_ref()
                    .map(|u| format!(" (iPXE {u})"))
                    .unwrap_or_default()
            ),
            BackendConfig::Ipmi(c) => format!(
                "ipmi {} ({:?}, user {}, privilege {}, {} relay rules)",
                c.address,
                c.client.interface,
                c.client.username,
                c.client.privilege,
                c.relay.len()
            ),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    bmc: Vec<Spanned<BmcToml>>,
    #[serde(default)]
    metal_discovery: Vec<Spanned<discovery::DiscoveryToml>>,
    state_dir: Option<Spanned<String>>,
    sel_capacity: Option<Spanned<u32>>,
}

/// A whole configuration file.
pub struct Config {
    /// The BMCs written out one by one.
    pub bmcs: Vec<BmcConfig>,
    /// The Metal projects whose tagged devices get a BMC each.
    pub discovery: Vec<DiscoveryConfig>,
    /// Where the SEL database is, and each log's capacity.
    pub state: StateConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BmcToml {
    name: Spanned<String>,
    listen: Spanned<String>,
    #[serde(default)]
    backend: Option<Spanned<String>>,
    #[serde(default)]
    users: Vec<Spanned<UserToml>>,
    guid: Option<Spanned<String>>,
    cipher_suites: Option<Spanned<Vec<u8>>>,
    ipmi15: Option<bool>,
    auth_types: Option<Spanned<Vec<String>>>,
    max_sessions: Option<Spanned<usize>>,
    session_timeout: Option<Spanned<u64>>,
    kg_env: Option<Spanned<String>>,
    kg_file: Option<Spanned<String>>,
    login_max_failures: Option<u32>,
    login_lockout: Option<u64>,
    lan: Option<LanToml>,
    sim: Option<SimToml>,
    ipmi: Option<Spanned<IpmiToml>>,
    metal: Option<Spanned<MetalToml>>,
    ssh: Option<Spanned<backends::SshToml>>,
    command: Option<Spanned<backends::CommandToml>>,
    routes: Option<Spanned<backends::RoutesToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MetalToml {
    api_url: Option<Spanned<String>>,
    device_id: Spanned<String>,
    token_env: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
    /// Only to say where the token must come from instead.
    token: Option<Spanned<String>>,
    ipxe_script_url: Option<Spanned<String>>,
    cache_ms: Option<u64>,
    timeout_ms: Option<u64>,
    retries: Option<u32>,
    deadline_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IpmiToml {
    host: Spanned<String>,
    port: Option<u16>,
    user: Spanned<String>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    kg_env: Option<Spanned<String>>,
    kg_file: Option<Spanned<String>>,
    privilege: Option<Spanned<String>>,
    cipher_suites: Option<Spanned<Vec<u8>>>,
    interface: Option<Spanned<String>>,
    timeout_ms: Option<u64>,
    retries: Option<u32>,
    deadline_ms: Option<u64>,
    keepalive_ms: Option<u64>,
    relay: Option<Vec<Spanned<RelayToml>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RelayToml {
    netfn: u8,
    #[serde(default)]
    cmds: Vec<u8>,
    privilege: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserToml {
    name: Spanned<String>,
    password: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    privilege: Spanned<String>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LanToml {
    ip: Option<Spanned<String>>,
    netmask: Option<Spanned<String>>,
    gateway: Option<Spanned<String>>,
    mac: Option<Spanned<String>>,
    dhcp: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SimToml {
    power_on_at_start: Option<bool>,
    transition_ms: Option<u64>,
    soft_off_ms: Option<u64>,
    honour_soft_off: Option<bool>,
}

/// Where a piece of text comes from, to point errors at it.
pub(crate) struct Source<'a> {
    file: &'a str,
    text: &'a str,
    dir: PathBuf,
}

impl Source<'_> {
    pub(crate) fn err(&self, span: Range<usize>, msg: impl std::fmt::Display) -> ConfigError {
        let upto = &self.text[..span.start.min(self.text.len())];
        let line = upto.matches('\n').count() + 1;
        let col = upto.len() - upto.rfind('\n').map_or(0, |i| i + 1) + 1;
        ConfigError(format!("{}:{line}:{col}: {msg}", self.file))
    }
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
    let src = Source {
        file,
        text,
        dir: dir.to_path_buf(),
    };
    let parsed: FileToml = toml::from_str(text).map_err(|e| {
        let msg = e.message().to_string();
        match e.span() {
            Some(span) => src.err(span, msg),
            None => ConfigError(format!("{file}: {msg}")),
        }
    })?;
    if parsed.bmc.is_empty() && parsed.metal_discovery.is_empty() {
        return Err(ConfigError(format!(
            "{file}: no [[bmc]] or [[metal_discovery]] table: nothing to serve"
        )));
    }
    let mut listens: HashMap<SocketAddr, String> = HashMap::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for b in parsed.bmc {
        let span = b.span();
        let b = b.into_inner();
        let (name_span, listen_span) = (b.name.span(), b.listen.span());
        let c = bmc(&src, span, b)?;
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
        out.push(c);
    }
    let mut discoveries: Vec<DiscoveryConfig> = Vec::new();
    // Addresses of the pools so far, by discovery (the static ones are in `listens`).
    let mut pooled: HashMap<SocketAddr, String> = HashMap::new();
    for (i, d) in parsed.metal_discovery.iter().enumerate() {
        let c = discovery::discovery(&src, i, d)?;
        if discoveries.iter().any(|o| o.name == c.name) {
            return Err(src.err(
                d.span(),
                format!(
                    "duplicate metal_discovery name {:?} (it names the state file)",
                    c.name
                ),
            ));
        }
        for addr in &c.pool {
            let by = match (listens.get(addr), pooled.get(addr)) {
                (Some(bmc), _) => Some(format!("bmc {bmc:?}")),
                (None, Some(other)) => Some(format!("metal_discovery {other:?}")),
                (None, None) => None,
            };
            if let Some(by) = by {
                return Err(src.err(
                    d.span(),
                    format!("the listen pool includes {addr}, already used by {by}"),
                ));
            }
            pooled.insert(*addr, c.name.clone());
        }
        discoveries.push(c);
    }
    Ok(Config {
        bmcs: out,
        discovery: discoveries,
        state: state::state(
            &src,
            parsed.state_dir.as_ref(),
            parsed.sel_capacity.as_ref(),
        )?,
    })
}

fn bmc(src: &Source, span: Range<usize>, b: BmcToml) -> Result<BmcConfig, ConfigError> {
    let name = b.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(src.err(b.name.span(), "bmc name must not be empty"));
    }
    let listen: SocketAddr = b.listen.get_ref().parse().map_err(|_| {
        src.err(
            b.listen.span(),
            format!(
                "invalid listen address {:?}: expected IPv4:port or [IPv6]:port",
                b.listen.get_ref()
            ),
        )
    })?;
    let (backend, extra, routes) = backends::backends(src, span.clone(), &name, &b)?;

    let users = users(
        src,
        span.clone(),
        &format!("bmc {name:?}"),
        "[[bmc.users]]",
        &b.users,
    )?;

    let defaults = ServerConfig::default();
    let cipher_suites = match &b.cipher_suites {
        Some(cs) => {
            if cs.get_ref().is_empty() {
                return Err(src.err(cs.span(), "cipher_suites must not be empty"));
            }
            for id in cs.get_ref() {
                if CipherSuite::by_id(*id).is_none() {
                    return Err(src.err(
                        cs.span(),
                        format!(
                            "unsupported cipher suite {id} (supported: 0, 1, 2, 3, 15, 16, 17)"
                        ),
                    ));
                }
            }
            cs.get_ref().clone()
        }
        None => defaults.cipher_suites.clone(),
    };
    let auth_types = match &b.auth_types {
        Some(list) => {
            let mut t = AuthTypes {
                none: false,
                md2: false,
                md5: false,
                straight: false,
            };
            for name in list.get_ref() {
                match name.as_str() {
                    "none" => t.none = true,
                    "md2" => t.md2 = true,
                    "md5" => t.md5 = true,
                    "straight" | "password" => t.straight = true,
                    other => {
                        return Err(src.err(
                            list.span(),
                            format!(
                                "unknown auth type {other:?} (expected md5, md2, straight or none)"
                            ),
                        ))
                    }
                }
            }
            t
        }
        None => AuthTypes::default(),
    };
    let guid = match &b.guid {
        Some(g) => parse_guid(g.get_ref()).ok_or_else(|| {
            src.err(
                g.span(),
                "guid must be a UUID: 32 hex digits, dashes allowed",
            )
        })?,
        None => derived_guid(&name),
    };
    let kg = secret_from(src, "kg", b.kg_env.as_ref(), b.kg_file.as_ref())?;
    if kg.as_ref().is_some_and(|k| k.expose().len() > 20) {
        return Err(src.err(span.clone(), "the BMC key (Kg) is at most 20 bytes"));
    }
    let max_sessions = match &b.max_sessions {
        Some(m) if *m.get_ref() == 0 || *m.get_ref() > 4096 => {
            return Err(src.err(m.span(), "max_sessions must be 1 to 4096"))
        }
        Some(m) => *m.get_ref(),
        None => defaults.max_sessions,
    };
    let session_timeout = match &b.session_timeout {
        Some(t) if *t.get_ref() == 0 => {
            return Err(src.err(t.span(), "session_timeout must be at least 1 second"))
        }
        Some(t) => Duration::from_secs(*t.get_ref()),
        None => defaults.session_timeout,
    };
    let mut login_policy = LoginPolicy::default();
    if let Some(n) = b.login_max_failures {
        login_policy.max_failures = n.max(1);
    }
    if let Some(s) = b.login_lockout {
        login_policy.lockout = Duration::from_secs(s);
    }

    let lan = lan_info(src, &b, &listen)?;
    let server = ServerConfig {
        guid,
        users,
        cipher_suites,
        auth_types,
        ipmi15: b.ipmi15.unwrap_or(defaults.ipmi15),
        kg,
        max_sessions,
        session_timeout,
        login_policy,
        ..defaults
    };
    let settings = BmcSettings::from_server(&name, &server, lan);
    Ok(BmcConfig {
        settings,
        server,
        listen,
        backend,
        extra,
        routes,
    })
}

/// Reads a secret from the environment variable or the file named, exactly one of which is given.
pub(crate) fn secret_from(
    src: &Source,
    what: &str,
    env: Option<&Spanned<String>>,
    file: Option<&Spanned<String>>,
) -> Result<Option<Secret>, ConfigError> {
    match (env, file) {
        (Some(_), Some(f)) => Err(src.err(
            f.span(),
            format!("give {what}_env or {what}_file, not both"),
        )),
        (Some(e), None) => std::env::var(e.get_ref())
            .map(|v| Some(Secret::new(v.into_bytes())))
            .map_err(|_| {
                src.err(
                    e.span(),
                    format!("environment variable {} is not set", e.get_ref()),
                )
            }),
        (None, Some(f)) => Ok(Some(Secret::new(read_secret_file(src, f)?))),
        (None, None) => Ok(None),
    }
}

pub(crate) fn ipmi_backend(
    src: &Source,
    t: &Spanned<IpmiToml>,
) -> Result<IpmiBackendConfig, ConfigError> {
    let span = t.span();
    let t = t.get_ref();
    let port = t.port.unwrap_or(623);
    let host = t.host.get_ref();
    let address = (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| src.err(t.host.span(), format!("cannot resolve host {host:?}")))?;
    let user = t.user.get_ref();
    if user.len() > 16 {
        return Err(src.err(t.user.span(), "user name is at most 16 bytes"));
    }
    let password = secret_from(
        src,
        "password",
        t.password_env.as_ref(),
        t.password_file.as_ref(),
    )?
    .ok_or_else(|| {
        src.err(
            span.clone(),
            "[bmc.ipmi] needs password_env or password_file (never the password itself)",
        )
    })?;
    if password.expose().len() > 20 {
        return Err(src.err(span.clone(), "password longer than 20 bytes"));
    }
    let kg = secret_from(src, "kg", t.kg_env.as_ref(), t.kg_file.as_ref())?;
    if kg.as_ref().is_some_and(|k| k.expose().len() > 20) {
        return Err(src.err(span.clone(), "the BMC key (Kg) is at most 20 bytes"));
    }
    let privilege = match &t.privilege {
        Some(p) => Privilege::from_name(p.get_ref())
            .filter(|p| *p != Privilege::Oem)
            .ok_or_else(|| {
                src.err(
                    p.span(),
                    "expected callback, user, operator or administrator",
                )
            })?,
        None => Privilege::Administrator,
    };
    let cipher_suites = match &t.cipher_suites {
        Some(cs) => {
            if cs.get_ref().is_empty() {
                return Err(src.err(cs.span(), "cipher_suites must not be empty"));
            }
            if let Some(id) = cs
                .get_ref()
                .iter()
                .find(|id| CipherSuite::by_id(**id).is_none())
            {
                return Err(src.err(
                    cs.span(),
                    format!("unsupported cipher suite {id} (supported: 0, 1, 2, 3, 15, 16, 17)"),
                ));
            }
            cs.get_ref().clone()
        }
        None => vec![17, 3],
    };
    let interface = match t
        .interface
        .as_ref()
        .map(|i| (i.get_ref().as_str(), i.span()))
    {
        None | Some(("lanplus", _)) => Interface::Lanplus,
        Some(("lan", _)) => Interface::Lan,
        Some((other, sp)) => {
            return Err(src.err(
                sp,
                format!("unknown interface {other:?} (expected lanplus or lan)"),
            ))
        }
    };
    let relay = match &t.relay {
        None => backend_ipmi::default_relay(),
        Some(rules) => {
            let mut out = Vec::new();
            for r in rules {
                let rs = r.span();
                let r = r.get_ref();
                if r.netfn & 1 == 1 || r.netfn > 0x3e {
                    return Err(src.err(rs, "netfn must be an even request NetFn up to 0x3e"));
                }
                let privilege = Privilege::from_name(r.privilege.get_ref())
                    .filter(|p| *p != Privilege::Oem)
                    .ok_or_else(|| {
                        src.err(
                            r.privilege.span(),
                            "expected callback, user, operator or administrator",
                        )
                    })?;
                let netfn = NetFn(r.netfn);
                if r.cmds.is_empty() {
                    out.push(RelayRule {
                        netfn,
                        cmd: None,
                        privilege,
                    });
                }
                for c in &r.cmds {
                    out.push(RelayRule {
                        netfn,
                        cmd: Some(*c),
                        privilege,
                    });
                }
            }
            out
        }
    };
    let retry = Retry {
        timeout: Duration::from_millis(t.timeout_ms.unwrap_or(1000).max(10)),
        retries: t.retries.unwrap_or(2),
    };
    Ok(IpmiBackendConfig {
        address,
        client: ClientConfig {
            username: user.clone(),
            password,
            kg,
            privilege,
            cipher_suites,
            interface,
        },
        retry,
        deadline: Duration::from_millis(t.deadline_ms.unwrap_or(8000).max(100)),
        relay,
        keepalive: match t.keepalive_ms.unwrap_or(20_000) {
            0 => None,
            ms => Some(Duration::from_millis(ms.max(100))),
        },
    })
}

/// The API endpoint and token of a metal backend or a discovery.
pub(crate) struct MetalAccess {
    pub(crate) api_url: String,
    pub(crate) token: zeroize::Zeroizing<String>,
}

/// Reads `api_url` (default [`DEFAULT_METAL_API`]) and the token, refusing a token written in
/// the file itself.
pub(crate) fn metal_access(
    src: &Source,
    span: Range<usize>,
    table: &str,
    api_url: Option<&Spanned<String>>,
    token_env: Option<&Spanned<String>>,
    token_file: Option<&Spanned<String>>,
    token_inline: Option<&Spanned<String>>,
) -> Result<MetalAccess, ConfigError> {
    if let Some(tok) = token_inline {
        return Err(src.err(
            tok.span(),
            "never put the API token in the file: give token_env or token_file",
        ));
    }
    let api_url = match api_url {
        Some(u) => {
            let url = u.get_ref().trim_end_matches('/').to_string();
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(src.err(u.span(), "api_url must be an http:// or https:// URL"));
            }
            url
        }
        None => DEFAULT_METAL_API.to_string(),
    };
    let token = secret_from(src, "token", token_env, token_file)?.ok_or_else(|| {
        src.err(
            span.clone(),
            format!("{table} needs token_env or token_file"),
        )
    })?;
    let token = String::from_utf8(token.expose().to_vec())
        .ok()
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| src.err(span, "the API token must be printable ASCII"))?;
    Ok(MetalAccess {
        api_url,
        token: zeroize::Zeroizing::new(token),
    })
}

/// An optional `ipxe_script_url`, which must be a URL.
pub(crate) fn ipxe_url(
    src: &Source,
    u: Option<&Spanned<String>>,
) -> Result<Option<String>, ConfigError> {
    match u {
        Some(u) if !(u.get_ref().starts_with("http://") || u.get_ref().starts_with("https://")) => {
            Err(src.err(
                u.span(),
                "ipxe_script_url must be an http:// or https:// URL",
            ))
        }
        Some(u) => Ok(Some(u.get_ref().clone())),
        None => Ok(None),
    }
}

/// The API call policy from `timeout_ms` and `retries`.
pub(crate) fn metal_policy(
    timeout_ms: Option<u64>,
    retries: Option<u32>,
) -> backend_metal::api::Policy {
    backend_metal::api::Policy {
        timeout: Duration::from_millis(timeout_ms.unwrap_or(5000).max(50)),
        retries: retries.unwrap_or(2),
        ..Default::default()
    }
}

pub(crate) fn metal_backend(
    src: &Source,
    t: &Spanned<MetalToml>,
) -> Result<MetalBackendConfig, ConfigError> {
    let span = t.span();
    let t = t.get_ref();
    let access = metal_access(
        src,
        span,
        "[bmc.metal]",
        t.api_url.as_ref(),
        t.token_env.as_ref(),
        t.token_file.as_ref(),
        t.token.as_ref(),
    )?;
    let device_id = t.device_id.get_ref().trim().to_lowercase();
    if backend_metal::guid_of(&device_id).is_none() {
        return Err(src.err(t.device_id.span(), "device_id must be the device's UUID"));
    }
    Ok(MetalBackendConfig {
        api_url: access.api_url,
        token: access.token,
        policy: metal_policy(t.timeout_ms, t.retries),
        device: backend_metal::MetalConfig {
            device_id,
            ipxe_script_url: ipxe_url(src, t.ipxe_script_url.as_ref())?,
            cache: Duration::from_millis(t.cache_ms.unwrap_or(2000)),
            deadline: Duration::from_millis(t.deadline_ms.unwrap_or(8000).max(100)),
        },
    })
}

/// The users of a BMC: IDs from 2 in file order (1 is the null user).
fn users(
    src: &Source,
    span: Range<usize>,
    owner: &str,
    table: &str,
    list: &[Spanned<UserToml>],
) -> Result<Vec<User>, ConfigError> {
    if list.is_empty() {
        return Err(src.err(span, format!("{owner} has no {table}: nobody could log in")));
    }
    if list.len() > 62 {
        return Err(src.err(span, "at most 62 users per BMC"));
    }
    let mut users = Vec::new();
    for (i, u) in list.iter().enumerate() {
        let uspan = u.span();
        let u = u.get_ref();
        let uname = u.name.get_ref();
        if uname.is_empty() || uname.len() > 16 {
            return Err(src.err(
                u.name.span(),
                "user name must be 1 to 16 bytes (anonymous users are not supported)",
            ));
        }
        if users.iter().any(|x: &User| &x.name == uname) {
            return Err(src.err(u.name.span(), format!("duplicate user {uname:?}")));
        }
        let privilege = Privilege::from_name(u.privilege.get_ref())
            .filter(|p| *p != Privilege::Oem)
            .ok_or_else(|| {
                src.err(
                    u.privilege.span(),
                    format!(
                        "bad privilege {:?}: expected callback, user, operator or administrator",
                        u.privilege.get_ref()
                    ),
                )
            })?;
        let password = password(src, uspan, u)?;
        users.push(User {
            id: i as u8 + 2,
            name: uname.clone(),
            password,
            privilege,
            enabled: u.enabled,
        });
    }
    Ok(users)
}

fn password(src: &Source, span: Range<usize>, u: &UserToml) -> Result<Secret, ConfigError> {
    let given = [
        u.password.is_some(),
        u.password_file.is_some(),
        u.password_env.is_some(),
    ];
    let count = given.iter().filter(|x| **x).count();
    if count == 0 {
        return Err(src.err(
            span,
            format!(
                "user {:?} has no password: give password, password_file or password_env",
                u.name.get_ref()
            ),
        ));
    }
    if count > 1 {
        return Err(src.err(
            span,
            format!(
                "user {:?}: give only one of password, password_file, password_env",
                u.name.get_ref()
            ),
        ));
    }
    let (bytes, sp) = if let Some(p) = &u.password {
        (p.get_ref().as_bytes().to_vec(), p.span())
    } else if let Some(f) = &u.password_file {
        (read_secret_file(src, f)?, f.span())
    } else {
        let e = u.password_env.as_ref().expect("counted above");
        let v = std::env::var(e.get_ref()).map_err(|_| {
            src.err(
                e.span(),
                format!("environment variable {} is not set", e.get_ref()),
            )
        })?;
        (v.into_bytes(), e.span())
    };
    if bytes.is_empty() {
        return Err(src.err(sp, "empty password"));
    }
    if bytes.len() > 20 {
        return Err(src.err(sp, "password longer than 20 bytes (the IPMI 2.0 limit)"));
    }
    Ok(Secret::new(bytes))
}

pub(crate) fn read_secret_file(src: &Source, f: &Spanned<String>) -> Result<Vec<u8>, ConfigError> {
    let path = src.dir.join(f.get_ref());
    let mut text = std::fs::read(&path)
        .map_err(|e| src.err(f.span(), format!("cannot read {}: {e}", path.display())))?;
    while text.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        text.pop();
    }
    Ok(text)
}

/// What Get LAN Configuration Parameters reports for a BMC without a `[bmc.lan]` table.
pub(crate) fn default_lan(name: &str, listen: &SocketAddr) -> LanInfo {
    let g = derived_guid(name);
    LanInfo {
        ip: match listen.ip() {
            std::net::IpAddr::V4(ip) => ip,
            std::net::IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
        },
        dhcp: false,
        netmask: Ipv4Addr::new(255, 255, 255, 0),
        gateway: Ipv4Addr::UNSPECIFIED,
        // A locally administered MAC derived from the name, stable across restarts.
        mac: [0x02, g[0], g[1], g[2], g[3], g[4]],
    }
}

fn lan_info(src: &Source, b: &BmcToml, listen: &SocketAddr) -> Result<LanInfo, ConfigError> {
    let ip4 = |v: Option<&Spanned<String>>, default: Ipv4Addr| -> Result<Ipv4Addr, ConfigError> {
        match v {
            Some(s) => s
                .get_ref()
                .parse()
                .map_err(|_| src.err(s.span(), "expected an IPv4 address")),
            None => Ok(default),
        }
    };
    let lan = b.lan.as_ref();
    let d = default_lan(b.name.get_ref(), listen);
    let mac = match lan.and_then(|l| l.mac.as_ref()) {
        Some(m) => parse_mac(m.get_ref())
            .ok_or_else(|| src.err(m.span(), "expected a MAC address like 02:00:00:00:00:01"))?,
        None => d.mac,
    };
    Ok(LanInfo {
        ip: ip4(lan.and_then(|l| l.ip.as_ref()), d.ip)?,
        dhcp: lan.and_then(|l| l.dhcp).unwrap_or(d.dhcp),
        netmask: ip4(lan.and_then(|l| l.netmask.as_ref()), d.netmask)?,
        gateway: ip4(lan.and_then(|l| l.gateway.as_ref()), d.gateway)?,
        mac,
    })
}

/// Parses a GUID written as clients show it (`01234567-89ab-cdef-0123-456789abcdef`) into its
/// wire form: IPMI sends GUIDs least significant byte first, so the text's bytes are reversed.
fn parse_guid(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let mut bytes: [u8; 16] = hex::decode(hex).ok()?.try_into().ok()?;
    bytes.reverse();
    Some(bytes)
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<u8> = s
        .split([':', '-'])
        .map(|p| u8::from_str_radix(p, 16))
        .collect::<Result<_, _>>()
        .ok()?;
    parts.try_into().ok()
}

/// A GUID derived from the BMC's name (FNV-1a, spread over 16 bytes), so that it stays the same
/// across restarts without being configured.
pub fn derived_guid(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (half, seed) in [0xcbf2_9ce4_8422_2325u64, 0x8422_2325_cbf2_9ce4]
        .iter()
        .enumerate()
    {
        let mut h = *seed;
        for b in name.bytes().chain(std::iter::once(half as u8)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        out[half * 8..half * 8 + 8].copy_from_slice(&h.to_le_bytes());
    }
    // RFC 4122 version 4 and variant bits where the IPMI (SMBIOS-order) encoding puts them:
    // time_hi_and_version is bytes 8-9 and clock_seq bytes 6-7, least significant byte first.
    out[9] = (out[9] & 0x0f) | 0x40;
    out[7] = (out[7] & 0x3f) | 0x80;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<Vec<BmcConfig>, String> {
        parse("t.toml", text, Path::new(".")).map_err(|e| e.0)
    }

    fn err(text: &str) -> String {
        match check(text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e,
        }
    }

    const GOOD: &str = r#"
[[bmc]]
name = "node1"
listen = "127.0.0.1:6230"
backend = "sim"

[[bmc.users]]
name = "admin"
password = "password"
privilege = "administrator"
"#;

    #[test]
    fn the_fixed_format_parses() {
        let c = check(GOOD).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].listen, "127.0.0.1:6230".parse().unwrap());
        assert_eq!(c[0].server.users[0].id, 2);
        assert_eq!(c[0].server.cipher_suites, vec![3, 17, 1, 2, 15, 16]);
        assert!(!c[0].server.cipher_suites.contains(&0));
    }

    #[test]
    fn errors_name_file_line_and_problem() {
        let e = err(&GOOD.replace("backend = \"sim\"", "backend = \"sim\"\ncolour = \"red\""));
        assert!(e.starts_with("t.toml:6:1: unknown field `colour`"), "{e}");
        let e = err(&GOOD.replace("\"administrator\"", "\"root\""));
        assert!(e.starts_with("t.toml:10:13: bad privilege \"root\""), "{e}");
        let e = err(&GOOD.replace("password = \"password\"\n", ""));
        assert!(
            e.starts_with("t.toml:7:1: user \"admin\" has no password"),
            "{e}"
        );
        let two = format!("{GOOD}{}", GOOD.replace("node1", "node2"));
        let e = err(&two);
        assert!(e.contains("duplicate listen address 127.0.0.1:6230"), "{e}");
        let e = err(&GOOD.replace("127.0.0.1:6230", "localhost"));
        assert!(e.starts_with("t.toml:4:10: invalid listen address"), "{e}");
        let e = err(&GOOD.replace(
            "password = \"password\"",
            "password_env = \"NO_SUCH_VAR_XYZ\"",
        ));
        assert!(e.contains("NO_SUCH_VAR_XYZ is not set"), "{e}");
    }

    #[test]
    fn the_ipmi_backend_table() {
        std::env::set_var("TEST_CONFIG_BMC_PW", "downstream");
        let ipmi = GOOD.replace("backend = \"sim\"", "backend = \"ipmi\"")
            + "[bmc.ipmi]\nhost = \"127.0.0.1\"\nport = 6231\nuser = \"root\"\npassword_env = \"TEST_CONFIG_BMC_PW\"\n";
        let c = check(&ipmi).unwrap();
        let BackendConfig::Ipmi(b) = &c[0].backend else {
            panic!("not ipmi")
        };
        assert_eq!(b.address, "127.0.0.1:6231".parse().unwrap());
        assert_eq!(b.client.password.expose(), b"downstream");
        assert_eq!(b.client.cipher_suites, vec![17, 3]);
        assert_eq!(b.client.interface, Interface::Lanplus);
        assert_eq!(b.relay, backend_ipmi::default_relay());
        let narrow = check(&format!(
            "{ipmi}interface = \"lan\"\nrelay = [{{ netfn = 0x0a, cmds = [0x10, 0x11], privilege = \"operator\" }}, {{ netfn = 0x30, privilege = \"administrator\" }}]\n"
        ))
        .unwrap();
        let BackendConfig::Ipmi(b) = &narrow[0].backend else {
            panic!("not ipmi")
        };
        assert_eq!(b.client.interface, Interface::Lan);
        assert_eq!(b.relay.len(), 3);
        assert_eq!(b.relay[2].cmd, None);

        let e = err(&GOOD.replace("backend = \"sim\"", "backend = \"ipmi\""));
        assert!(e.contains("needs a [bmc.ipmi] table"), "{e}");
        let e = err(&ipmi.replace("password_env = \"TEST_CONFIG_BMC_PW\"\n", ""));
        assert!(e.contains("needs password_env or password_file"), "{e}");
        let e = err(&format!("{ipmi}password = \"inline\"\n"));
        assert!(e.contains("unknown field `password`"), "{e}");
        let e = err(&format!("{ipmi}interface = \"serial\"\n"));
        assert!(e.contains("unknown interface \"serial\""), "{e}");
        let e = err(&format!(
            "{ipmi}relay = [{{ netfn = 0x0b, privilege = \"user\" }}]\n"
        ));
        assert!(e.contains("even request NetFn"), "{e}");
        let e = err(&(GOOD.to_string() + "[bmc.ipmi]\nhost = \"127.0.0.1\"\nuser = \"root\"\npassword_env = \"TEST_CONFIG_BMC_PW\"\n"));
        assert!(
            e.contains(
                "[bmc.ipmi] is configured, but neither backend nor [bmc.routes] uses \"ipmi\""
            ),
            "{e}"
        );
    }

    #[test]
    fn the_metal_backend_and_discovery_tables() {
        std::env::set_var("TEST_CONFIG_METAL_TOKEN", "tok-123");
        let metal = GOOD.replace("backend = \"sim\"", "backend = \"metal\"")
            + "[bmc.metal]\ndevice_id = \"6E2B7F4C-3C1A-4A5E-9D7E-000000000001\"\ntoken_env = \"TEST_CONFIG_METAL_TOKEN\"\n";
        let c = check(&metal).unwrap();
        let BackendConfig::Metal(m) = &c[0].backend else {
            panic!("not metal")
        };
        assert_eq!(m.api_url, DEFAULT_METAL_API);
        assert_eq!(m.device.device_id, "6e2b7f4c-3c1a-4a5e-9d7e-000000000001");
        assert_eq!(m.token.as_str(), "tok-123");
        let e = err(&format!("{metal}token = \"secret\"\n"));
        assert!(e.contains("never put the API token in the file"), "{e}");
        assert!(!e.contains("secret"), "{e}");
        let e = err(&metal.replace("6E2B7F4C-3C1A-4A5E-9D7E-000000000001", "node-1"));
        assert!(e.contains("device_id must be the device's UUID"), "{e}");
        let e = err(&metal.replace("token_env = \"TEST_CONFIG_METAL_TOKEN\"\n", ""));
        assert!(
            e.contains("[bmc.metal] needs token_env or token_file"),
            "{e}"
        );

        let disc = "[[metal_discovery]]\nproject_id = \"0f0c3a4e-1111-4a5e-9d7e-000000000000\"\ntag = \"ipmi\"\ntoken_env = \"TEST_CONFIG_METAL_TOKEN\"\nlisten = \"10.0.0.1:7000-7009\"\n[[metal_discovery.users]]\nname = \"admin\"\npassword = \"pw\"\nprivilege = \"operator\"\n";
        let all = parse_all("t.toml", disc, Path::new("/etc/itm")).unwrap();
        assert!(all.bmcs.is_empty());
        let d = &all.discovery[0];
        assert_eq!(d.pool.len(), 10);
        assert_eq!(d.pool[9], "10.0.0.1:7009".parse().unwrap());
        assert_eq!(
            d.state_file,
            Path::new("/etc/itm/t.toml.discovery-1.devices.json")
        );
        let b = d.bmc("node-a", "6e2b7f4c-3c1a-4a5e-9d7e-000000000001", d.pool[0]);
        assert_eq!(b.settings.name, "node-a");
        assert_eq!(b.server.users[0].name, "admin");
        let e = parse_all(
            "t.toml",
            &disc.replace("7000-7009", "7009-7000"),
            Path::new("."),
        )
        .err()
        .unwrap()
        .0;
        assert!(e.contains("port range"), "{e}");
        let clash = format!(
            "{GOOD}{}",
            disc.replace("10.0.0.1:7000-7009", "127.0.0.1:6229-6231")
        );
        let e = parse_all("t.toml", &clash, Path::new(".")).err().unwrap().0;
        assert!(e.contains("already used by bmc \"node1\""), "{e}");
        let named = disc.replace("tag = ", "name = \"x\"\ntag = ");
        let two = format!("{named}{}", named.replace("7000-7009", "7100-7109"));
        let e = parse_all("t.toml", &two, Path::new(".")).err().unwrap().0;
        assert!(e.contains("duplicate metal_discovery name \"x\""), "{e}");
        let two = format!(
            "{disc}{}",
            disc.replace("7000-7009", "7009-7020")
                .replace("tag = ", "name = \"b\"\ntag = ")
        );
        let e = parse_all("t.toml", &two, Path::new(".")).err().unwrap().0;
        assert!(
            e.contains("10.0.0.1:7009, already used by metal_discovery \"discovery-1\""),
            "{e}"
        );
    }

    #[test]
    fn routes_name_configured_backends_only() {
        let dir = std::env::temp_dir().join(format!("itm-routes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("id_ed25519"), "key").unwrap();
        std::fs::write(dir.join("known_hosts"), "").unwrap();
        let ssh = "[bmc.ssh]\nhost = \"10.0.0.5\"\nkey_file = \"id_ed25519\"\nknown_hosts = \"known_hosts\"\n";
        let cmd = "[bmc.command]\nrun = [\"/usr/local/bin/pdu\"]\n";
        let text = format!("{GOOD}{ssh}{cmd}[bmc.routes]\nsoft = [\"ssh\", \"sim\"]\npower = \"command\"\nsoft_deadline_s = 30\n");
        let c = parse("t.toml", &text, &dir).unwrap();
        let t = c[0].routes.as_ref().unwrap();
        use ipmi_bmc::routing::Operation;
        assert_eq!(t.chain(Operation::Soft), ["ssh", "sim"]);
        assert_eq!(t.chain(Operation::Off), ["command"]);
        assert_eq!(t.chain(Operation::Boot), ["sim"], "the default backend");
        assert_eq!(t.soft_deadline, Duration::from_secs(30));
        assert_eq!(c[0].backend.kind(), "sim");
        let kinds: Vec<_> = c[0].extra.iter().map(|b| b.kind()).collect();
        assert_eq!(kinds, ["command", "ssh"]);

        let e = parse(
            "t.toml",
            &format!("{GOOD}[bmc.routes]\nsoft = \"ssh\"\n"),
            &dir,
        )
        .err()
        .unwrap()
        .0;
        assert!(e.contains("backend \"ssh\" needs a [bmc.ssh] table"), "{e}");
        let e = parse(
            "t.toml",
            &format!("{GOOD}[bmc.routes]\ndiag = \"telnet\"\n"),
            &dir,
        )
        .err()
        .unwrap()
        .0;
        assert!(e.contains("unknown backend \"telnet\" in a route"), "{e}");
        let e = parse("t.toml", &format!("{GOOD}{ssh}"), &dir)
            .err()
            .unwrap()
            .0;
        assert!(
            e.contains(
                "[bmc.ssh] is configured, but neither backend nor [bmc.routes] uses \"ssh\""
            ),
            "{e}"
        );
        let e = parse(
            "t.toml",
            &format!(
                "{GOOD}{}[bmc.routes]\nsoft = \"ssh\"\n",
                ssh.replace("id_ed25519", "missing_key")
            ),
            &dir,
        )
        .err()
        .unwrap()
        .0;
        assert!(
            e.contains("cannot read") && e.contains("missing_key"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn derived_guid_is_stable_and_distinct() {
        assert_eq!(derived_guid("a"), derived_guid("a"));
        assert_ne!(derived_guid("a"), derived_guid("b"));
    }
}
