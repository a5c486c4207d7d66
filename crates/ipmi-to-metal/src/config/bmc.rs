//! One `[[bmc]]`: its own fields (name, address, session settings) and what it is made of.

use super::session::{self, SessionToml};
use super::{backend_set, console, lan, users};
use crate::kinds;
use backend_config::tables::Table;
use backend_config::{BackendConfig, BackendKind, ConfigError, Source};
use ipmi_bmc::BmcSettings;
use ipmi_proto::session::ServerConfig;
use serde::{Deserialize, Deserializer};
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::OnceLock;
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
    /// What in its settings (and its backends') is weaker than the defaults.
    pub warnings: Vec<String>,
    /// The serial console: its log and what SOL replays (`[bmc.console]`).
    pub console: console::ConsoleSettings,
    /// Where its own Redfish service listens (TCP), if `redfish_listen` is set.
    pub redfish_listen: Option<SocketAddr>,
}

/// A `[[bmc]]` table: its own fields; the backend tables in it are read by their kinds.
pub(crate) struct BmcToml(pub(crate) BmcFields);

/// The fields of a `[[bmc]]` table other than the backends' tables and the session settings
/// ([`SessionToml`], read by a pass of its own), in [`fields`].
#[derive(Deserialize)]
pub(crate) struct BmcFields {
    pub(crate) name: Spanned<String>,
    pub(crate) listen: Spanned<String>,
    #[serde(default)]
    pub(crate) backend: Option<Spanned<String>>,
    /// A boxed slice: as read, the list had room for 4 (900 bytes for a BMC's one user).
    #[serde(default)]
    pub(crate) users: Box<[Spanned<users::UserToml>]>,
    guid: Option<Spanned<String>>,
    /// Where its own Redfish service (this one system) listens.
    pub(crate) redfish_listen: Option<Spanned<String>>,
    // Boxed: most BMCs have none of these tables, and 10,000 BMCs' fields are held at once
    // until the whole file is read (inline, they were 1.2 KiB a BMC, the routes 700 bytes).
    pub(crate) lan: Option<Box<lan::LanToml>>,
    pub(crate) console: Option<Box<console::ConsoleToml>>,
    pub(crate) routes: Option<Box<Spanned<super::routes::RoutesToml>>>,
}

/// The keys of a `[[bmc]]` table: [`BmcFields`]' and the session settings; any other key must
/// name a backend kind.
pub(super) fn fields() -> &'static [&'static str] {
    static FIELDS: OnceLock<&'static [&'static str]> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let own = [
            "name",
            "listen",
            "backend",
            "users",
            "guid",
            "redfish_listen",
        ];
        let all: Vec<&'static str> = own
            .into_iter()
            .chain(session::fields().iter().copied())
            .chain(["lan", "console", "routes"])
            .collect();
        Vec::leak(all)
    })
}

/// What an unknown key's error lists: the fields, with the kinds' tables before `routes`.
fn expected() -> &'static [&'static str] {
    static EXPECTED: OnceLock<&'static [&'static str]> = OnceLock::new();
    EXPECTED.get_or_init(|| {
        let (own, routes) = fields().split_at(fields().len() - 1);
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
        backend_config::tables::skip_backend_tables(d, fields(), &kinds::names(), expected())
            .map(BmcToml)
    }
}

/// Validates one `[[bmc]]`; `session` holds its session settings, `tables` each kind's
/// table of it, `state_dir` the process's state directory.
pub(super) fn bmc(
    src: &Source,
    span: Range<usize>,
    b: BmcFields,
    session: &SessionToml,
    tables: &[(&dyn BackendKind, Option<&Table>)],
    state_dir: Option<&std::path::Path>,
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
    let redfish_listen = match &b.redfish_listen {
        Some(r) => Some(r.get_ref().parse::<SocketAddr>().map_err(|_| {
            src.err(
                r.span(),
                format!(
                    "invalid redfish_listen address {:?}: expected IPv4:port or [IPv6]:port",
                    r.get_ref()
                ),
            )
        })?),
        None => None,
    };
    let (backend, extra, routes) = backend_set::backends(
        src,
        span.clone(),
        &name,
        b.backend.as_ref(),
        b.routes.as_deref(),
        tables,
        state_dir,
    )?;

    let users = users::users(
        src,
        span.clone(),
        &format!("bmc {name:?}"),
        "[[bmc.users]]",
        &b.users,
    )?;

    let (server, mut warnings) = session::server_config(src, span, session, users)?;
    warnings.extend(
        std::iter::once(&backend)
            .chain(&extra)
            .flat_map(|b| b.warnings()),
    );
    let guid = match &b.guid {
        Some(g) => lan::parse_guid(g.get_ref()).ok_or_else(|| {
            src.err(
                g.span(),
                "guid must be a UUID: 32 hex digits, dashes allowed",
            )
        })?,
        None => lan::derived_guid(&name),
    };
    // The MAC is derived from the name as written (untrimmed), as it always was.
    let lan = lan::lan_info(src, b.name.get_ref(), b.lan.as_deref(), &listen)?;
    let (console, sol) = console::console(src, b.console.as_deref(), listen.port())?;
    let server = ServerConfig {
        guid,
        sol,
        ..server
    };
    let settings = BmcSettings::from_server(&name, &server, lan);
    Ok(BmcConfig {
        settings,
        server,
        listen,
        backend,
        extra,
        routes,
        warnings,
        console,
        redfish_listen,
    })
}
