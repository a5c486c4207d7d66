//! The ipmi backend's `[bmc.ipmi]` table: the BMC behind, the login, the time limits and the
//! relay allow-list, with their defaults.

use crate::{default_relay, spawn_keepalive, IpmiBackend, IpmiBackendConfig, RelayRule};
use backend_config::{
    secret_from, BackendSettings, BmcContext, ConfigError, Kind, LongestCall, Resources, Spanned,
};
use ipmi_bmc::Backend;
use ipmi_client::Retry;
use ipmi_proto::session::cipher_suite::CipherSuite;
use ipmi_proto::session::{ClientConfig, Interface};
use ipmi_proto::types::{NetFn, Privilege};
use serde::Deserialize;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;

/// The RMCP port of the BMC behind unless `port` says otherwise.
pub const DEFAULT_PORT: u16 = 623;
/// The cipher suites tried, in order, unless `cipher_suites` says otherwise.
pub const DEFAULT_CIPHER_SUITES: [u8; 2] = [17, 3];
/// The privilege of the session behind unless `privilege` says otherwise.
pub const DEFAULT_PRIVILEGE: Privilege = Privilege::Administrator;
/// Each try of a request waits this long for its answer (`timeout_ms`) ...
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1000);
/// ... and is retried this many times (`retries`).
pub const DEFAULT_RETRIES: u32 = 2;
/// Every operation ends within this time (`deadline_ms`): below the request deadline (10 s).
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(8000);
/// The session is kept alive when idle this long (`keepalive_ms`; 0 turns it off).
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_millis(20_000);

/// `[bmc.ipmi]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpmiToml {
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
    deadline_ms: Option<Spanned<u64>>,
    keepalive_ms: Option<u64>,
    relay: Option<Vec<Spanned<RelayToml>>>,
    sol: Option<bool>,
}

/// One rule of `relay` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayToml {
    netfn: u8,
    #[serde(default)]
    cmds: Vec<u8>,
    privilege: Spanned<String>,
    /// Accepts a rule [`needs_force`] refuses (and says so at start).
    #[serde(default)]
    force: bool,
}

/// The ipmi backend kind.
pub struct IpmiKind;

impl Kind for IpmiKind {
    const NAME: &'static str = "ipmi";
    const NEEDS: Option<&'static str> = Some("host, user, password_env or password_file");
    type Table = IpmiToml;
    type Settings = IpmiBackendConfig;

    fn configure(
        &self,
        cx: &BmcContext,
        table: Option<&Spanned<IpmiToml>>,
    ) -> Result<IpmiBackendConfig, ConfigError> {
        let t = table.expect("NEEDS a table");
        let (src, span, t) = (cx.src, t.span(), t.get_ref());
        let port = t.port.unwrap_or(DEFAULT_PORT);
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
            Some(p) => privilege(p).ok_or_else(|| {
                src.err(
                    p.span(),
                    "expected callback, user, operator or administrator",
                )
            })?,
            None => DEFAULT_PRIVILEGE,
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
                        format!(
                            "unsupported cipher suite {id} (supported: 0, 1, 2, 3, 15, 16, 17)"
                        ),
                    ));
                }
                cs.get_ref().clone()
            }
            None => DEFAULT_CIPHER_SUITES.to_vec(),
        };
        let interface = match t
            .interface
            .as_ref()
            .map(|i| (i.get_ref().as_str(), i.span()))
        {
            None => Interface::default(),
            Some(("lanplus", _)) => Interface::Lanplus,
            Some(("lan", _)) => Interface::Lan,
            Some((other, sp)) => {
                return Err(src.err(
                    sp,
                    format!("unknown interface {other:?} (expected lanplus or lan)"),
                ))
            }
        };
        let relay = match &t.relay {
            None => default_relay(),
            Some(rules) => relay(cx, rules)?,
        };
        let retry = Retry {
            timeout: t
                .timeout_ms
                .map_or(DEFAULT_TIMEOUT, Duration::from_millis)
                .max(Duration::from_millis(10)),
            retries: t.retries.unwrap_or(DEFAULT_RETRIES),
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
            deadline: t
                .deadline_ms
                .as_ref()
                .map_or(DEFAULT_DEADLINE, |ms| Duration::from_millis(*ms.get_ref()))
                .max(Duration::from_millis(100)),
            relay,
            keepalive: match t.keepalive_ms.map(Duration::from_millis) {
                None => Some(DEFAULT_KEEPALIVE),
                Some(Duration::ZERO) => None,
                Some(every) => Some(every.max(Duration::from_millis(100))),
            },
            sol: t.sol.unwrap_or(false),
        })
    }

    /// Every call (a re-login included) ends within the deadline, whatever the tries take.
    fn longest_call(
        &self,
        table: Option<&Spanned<IpmiToml>>,
        settings: &IpmiBackendConfig,
    ) -> Option<LongestCall> {
        Some(LongestCall {
            time: settings.deadline,
            setting: "deadline_ms",
            at: table.and_then(|t| t.get_ref().deadline_ms.as_ref().map(|ms| ms.span())),
        })
    }
}

/// A privilege a session may have (not OEM).
fn privilege(p: &Spanned<String>) -> Option<Privilege> {
    Privilege::from_name(p.get_ref()).filter(|p| *p != Privilege::Oem)
}

/// Why relaying command `cmd` (`None`: every command) of `netfn` could take the BMC behind
/// over, if it could: the rule is then refused unless it says `force = true`.
pub fn needs_force(netfn: NetFn, cmd: Option<u8>) -> Option<String> {
    let oem = netfn.0 == 0x08 || (0x2c..=0x3e).contains(&netfn.0);
    match cmd {
        None if netfn == NetFn::APP => Some(
            "relaying every App command would relay Send Message (bridging to other channels) and the channel and user management commands 0x40-0x47 under the session behind".into(),
        ),
        None if oem => Some(format!(
            "relaying every command of NetFn {:#04x} (firmware, group extension or OEM: commands only their vendor knows) would hand clients whatever they do: list the commands with cmds",
            netfn.0
        )),
        Some(0x34) if netfn == NetFn::APP => Some(
            "relaying App 0x34 (Send Message) would bridge any command to other channels and controllers under the session behind".into(),
        ),
        Some(c @ 0x40..=0x47) if netfn == NetFn::APP => Some(format!(
            "relaying App {c:#04x} (channel and user management) would let clients change the channels and accounts of the BMC behind"
        )),
        _ => None,
    }
}

fn relay(cx: &BmcContext, rules: &[Spanned<RelayToml>]) -> Result<Vec<RelayRule>, ConfigError> {
    let mut out = Vec::new();
    for r in rules {
        let rs = r.span();
        let r = r.get_ref();
        if r.netfn & 1 == 1 || r.netfn > 0x3e {
            return Err(cx
                .src
                .err(rs, "netfn must be an even request NetFn up to 0x3e"));
        }
        let privilege = privilege(&r.privilege).ok_or_else(|| {
            cx.src.err(
                r.privilege.span(),
                "expected callback, user, operator or administrator",
            )
        })?;
        let netfn = NetFn(r.netfn);
        let cmds: Vec<Option<u8>> = if r.cmds.is_empty() {
            vec![None]
        } else {
            r.cmds.iter().copied().map(Some).collect()
        };
        for cmd in cmds {
            if let (Some(why), false) = (needs_force(netfn, cmd), r.force) {
                return Err(cx.src.err(
                    rs,
                    format!("{why}: refused unless the rule says force = true"),
                ));
            }
            out.push(RelayRule {
                netfn,
                cmd,
                privilege,
                forced: r.force && needs_force(netfn, cmd).is_some(),
            });
        }
    }
    Ok(out)
}

impl BackendSettings for IpmiBackendConfig {
    fn describe(&self) -> String {
        format!(
            "ipmi {} ({:?}, user {}, privilege {}, {} relay rules)",
            self.address,
            self.client.interface,
            self.client.username,
            self.client.privilege,
            self.relay.len()
        )
    }

    /// Forced relay rules, and a session behind without integrity or encryption.
    fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .relay
            .iter()
            .filter(|r| r.forced)
            .map(|r| {
                let what = match r.cmd {
                    Some(c) => format!("NetFn {:#04x} command {c:#04x}", r.netfn.0),
                    None => format!("every command of NetFn {:#04x}", r.netfn.0),
                };
                let why = needs_force(r.netfn, r.cmd).unwrap_or_default();
                format!("relay of {what} forced (force = true): {why}")
            })
            .collect();
        let weak: Vec<String> = (self.client.interface == Interface::Lanplus)
            .then_some(&self.client.cipher_suites)
            .into_iter()
            .flatten()
            .filter(|id| [0, 1, 2, 15, 16].contains(*id))
            .map(u8::to_string)
            .collect();
        if !weak.is_empty() {
            out.push(format!(
                "[bmc.ipmi] cipher_suites {} towards the BMC behind lack integrity protection or encryption",
                weak.join(", ")
            ));
        }
        if self.client.interface == Interface::Lan {
            out.push("[bmc.ipmi] interface = \"lan\": IPMI 1.5 with MD5 and no encryption towards the BMC behind".into());
        }
        out
    }

    /// The backend, with its keep-alive task.
    fn build(&self, _: &mut Resources) -> Result<Arc<dyn Backend>, String> {
        let b = Arc::new(IpmiBackend::new(self.clone()));
        spawn_keepalive(&b);
        Ok(b)
    }
}
