//! One `[[bmc]]`: its own fields (name, address, session settings) and what it is made of.

use super::{backend_set, console, lan, users};
use crate::kinds;
use backend_config::tables::Table;
use backend_config::{secret_from, BackendConfig, BackendKind, ConfigError, Source};
use ipmi_bmc::BmcSettings;
use ipmi_proto::session::cipher_suite::CipherSuite;
use ipmi_proto::session::{AuthTypes, LoginPolicy, ServerConfig};
use serde::{Deserialize, Deserializer};
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::OnceLock;
use std::time::Duration;
use toml::Spanned;

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
    /// The serial console: its log and what SOL replays (`[bmc.console]`).
    pub console: console::ConsoleSettings,
}

/// A `[[bmc]]` table: its own fields; the backend tables in it are read by their kinds.
pub(crate) struct BmcToml(pub(crate) BmcFields);

/// The fields of a `[[bmc]]` table other than the backends' tables, in [`FIELDS`].
#[derive(Deserialize)]
pub(crate) struct BmcFields {
    pub(crate) name: Spanned<String>,
    pub(crate) listen: Spanned<String>,
    #[serde(default)]
    pub(crate) backend: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) users: Vec<Spanned<users::UserToml>>,
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
    pub(crate) lan: Option<lan::LanToml>,
    pub(crate) console: Option<console::ConsoleToml>,
    pub(crate) routes: Option<Spanned<super::routes::RoutesToml>>,
}

/// [`BmcFields`]' names: any other key of a `[[bmc]]` must name a backend kind.
pub(super) const FIELDS: &[&str] = &[
    "name",
    "listen",
    "backend",
    "users",
    "guid",
    "cipher_suites",
    "ipmi15",
    "auth_types",
    "max_sessions",
    "session_timeout",
    "kg_env",
    "kg_file",
    "login_max_failures",
    "login_lockout",
    "lan",
    "console",
    "routes",
];

/// What an unknown key's error lists: the fields, with the kinds' tables before `routes`.
fn expected() -> &'static [&'static str] {
    static EXPECTED: OnceLock<&'static [&'static str]> = OnceLock::new();
    EXPECTED.get_or_init(|| {
        let (own, routes) = FIELDS.split_at(FIELDS.len() - 1);
        let all: Vec<&'static str> = own
            .iter()
            .copied()
            .chain(kinds::names())
            .chain(routes.iter().copied())
            .collect();
        Vec::leak(all)
    })
}

impl<'de> Deserialize<'de> for BmcToml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        backend_config::tables::skip_backend_tables(d, FIELDS, &kinds::names(), expected())
            .map(BmcToml)
    }
}

/// Validates one `[[bmc]]`; `tables` holds each kind's table of it.
pub(super) fn bmc(
    src: &Source,
    span: Range<usize>,
    b: BmcFields,
    tables: &[(&dyn BackendKind, Option<&Table>)],
) -> Result<BmcConfig, ConfigError> {
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
    let (backend, extra, routes) = backend_set::backends(
        src,
        span.clone(),
        &name,
        b.backend.as_ref(),
        b.routes.as_ref(),
        tables,
    )?;

    let users = users::users(
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
        Some(list) => auth_types(src, list)?,
        None => AuthTypes::default(),
    };
    let guid = match &b.guid {
        Some(g) => lan::parse_guid(g.get_ref()).ok_or_else(|| {
            src.err(
                g.span(),
                "guid must be a UUID: 32 hex digits, dashes allowed",
            )
        })?,
        None => lan::derived_guid(&name),
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

    // The MAC is derived from the name as written (untrimmed), as it always was.
    let lan = lan::lan_info(src, b.name.get_ref(), b.lan.as_ref(), &listen)?;
    let (console, sol) = console::console(src, b.console.as_ref(), listen.port())?;
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
        sol,
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
        console,
    })
}

/// The IPMI 1.5 authentication types of `auth_types`.
fn auth_types(src: &Source, list: &Spanned<Vec<String>>) -> Result<AuthTypes, ConfigError> {
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
                    format!("unknown auth type {other:?} (expected md5, md2, straight or none)"),
                ))
            }
        }
    }
    Ok(t)
}
