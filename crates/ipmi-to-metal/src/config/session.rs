//! The session settings of a BMC: cipher suites, IPMI 1.5 and its authentication types, session
//! limits, the BMC key and the failed-login policy. A `[[bmc]]` and a `[[metal_discovery]]`
//! (for every BMC it starts) take the same keys, read by one pass over the text into
//! [`SessionToml`] and validated by [`server_config`]; the tables' own passes accept the keys
//! ([`fields`]) and leave them to this one.

use super::field_names::field_names;
use backend_config::{secret_from, ConfigError, Source};
use ipmi_proto::session::cipher_suite::CipherSuite;
use ipmi_proto::session::{AuthTypes, LoginPolicy, ServerConfig, User};
use ipmi_proto::types::Privilege;
use serde::Deserialize;
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;

/// The cipher suites offered unless `cipher_suites` says otherwise: those with integrity
/// protection and encryption. ipmitool 1.8.19 picks 17, else 3; FreeIPMI asks for 3 unless told
/// otherwise; pyghmi tries 17, then 3. Suites without integrity (1, 15) let anyone who sees a
/// session ID inject commands; without encryption (2, 16), commands and answers travel in clear.
pub const DEFAULT_CIPHER_SUITES: [u8; 2] = [3, 17];
/// Session handles are one byte (0 is not one): no more sessions than that.
pub const MAX_SESSIONS: usize = 255;
/// The longest lockout after failed logins, in seconds (a day): longer is a typo, and far
/// longer overflowed the clock.
pub const MAX_LOGIN_LOCKOUT: u64 = 86_400;
/// The longest idle time of a session, in seconds (a day).
pub const MAX_SESSION_TIMEOUT: u64 = 86_400;

/// The session keys of a `[[bmc]]` or `[[metal_discovery]]` table as written; other keys of the
/// table are ignored here (the table's own pass checks them).
#[derive(Deserialize, Default)]
#[cfg_attr(test, derive(Debug))]
pub(crate) struct SessionToml {
    cipher_suites: Option<Spanned<Vec<u8>>>,
    ipmi15: Option<Spanned<bool>>,
    auth_types: Option<Spanned<Vec<String>>>,
    max_sessions: Option<Spanned<u64>>,
    session_timeout: Option<Spanned<u64>>,
    kg_env: Option<Spanned<String>>,
    kg_file: Option<Spanned<String>>,
    login_max_failures: Option<Spanned<u32>>,
    login_lockout: Option<Spanned<u64>>,
}

/// The keys [`SessionToml`] reads, in the order it declares them.
pub(super) fn fields() -> &'static [&'static str] {
    field_names::<SessionToml>()
}

/// The session settings of every `[[bmc]]` and every `[[metal_discovery]]`, in order.
#[derive(Deserialize)]
pub(super) struct FileSessions {
    #[serde(default)]
    pub(super) bmc: Vec<SessionToml>,
    #[serde(default)]
    pub(super) metal_discovery: Vec<SessionToml>,
    #[serde(default)]
    pub(super) libvirt_discovery: Vec<SessionToml>,
}

/// The session layer's configuration of a BMC with `users` (its GUID left for the caller), and
/// what in it is weaker than the defaults. `span` is the owning table, for errors about it.
pub(super) fn server_config(
    src: &Source,
    span: Range<usize>,
    s: &SessionToml,
    users: Vec<User>,
) -> Result<(ServerConfig, Vec<String>), ConfigError> {
    let defaults = ServerConfig::default();
    let cipher_suites = match &s.cipher_suites {
        Some(cs) => cipher_suites(src, cs)?,
        None => DEFAULT_CIPHER_SUITES.to_vec(),
    };
    let auth_types = match &s.auth_types {
        Some(list) => auth_types(src, list)?,
        None => AuthTypes::default(),
    };
    if auth_types.none {
        if let Some(u) = users.iter().find(|u| u.privilege > Privilege::Callback) {
            let at = s.auth_types.as_ref().expect("none was listed").span();
            return Err(src.err(
                at,
                format!(
                    "auth_types \"none\" lets IPMI 1.5 sessions open without a password: allowed only when every user is callback (user {:?} is {})",
                    u.name, u.privilege
                ),
            ));
        }
    }
    let kg = secret_from(src, "kg", s.kg_env.as_ref(), s.kg_file.as_ref())?;
    if kg.as_ref().is_some_and(|k| k.expose().len() > 20) {
        return Err(src.err(span, "the BMC key (Kg) is at most 20 bytes"));
    }
    let max_sessions = match &s.max_sessions {
        Some(m) if *m.get_ref() == 0 || *m.get_ref() > MAX_SESSIONS as u64 => {
            return Err(src.err(
                m.span(),
                format!("max_sessions must be 1 to {MAX_SESSIONS} (session handles are one byte)"),
            ))
        }
        Some(m) => *m.get_ref() as usize,
        None => defaults.max_sessions,
    };
    let session_timeout = match &s.session_timeout {
        Some(t) if *t.get_ref() == 0 || *t.get_ref() > MAX_SESSION_TIMEOUT => {
            return Err(src.err(
                t.span(),
                format!("session_timeout must be 1 to {MAX_SESSION_TIMEOUT} seconds (a day)"),
            ))
        }
        Some(t) => Duration::from_secs(*t.get_ref()),
        None => defaults.session_timeout,
    };
    let mut login_policy = LoginPolicy::default();
    if let Some(n) = &s.login_max_failures {
        login_policy.max_failures = (*n.get_ref()).max(1);
    }
    if let Some(l) = &s.login_lockout {
        if *l.get_ref() > MAX_LOGIN_LOCKOUT {
            return Err(src.err(
                l.span(),
                format!("login_lockout must be at most {MAX_LOGIN_LOCKOUT} seconds (a day)"),
            ));
        }
        login_policy.lockout = Duration::from_secs(*l.get_ref());
    }
    let server = ServerConfig {
        users,
        cipher_suites,
        auth_types,
        ipmi15: s.ipmi15.as_ref().map_or(defaults.ipmi15, |b| *b.get_ref()),
        kg,
        max_sessions,
        session_timeout,
        login_policy,
        ..defaults
    };
    let warnings = super::warnings::of_session(&server, ipmi15_asked_for(s));
    Ok((server, warnings))
}

/// Whether the table itself turns IPMI 1.5 with MD5 on (`ipmi15 = true`, or `md5` among
/// `auth_types`), rather than leaving the default: only then is it warned about (the default
/// keeps it on for FreeIPMI's default driver; README and docs/security.md say so).
fn ipmi15_asked_for(s: &SessionToml) -> bool {
    s.ipmi15.as_ref().is_some_and(|b| *b.get_ref())
        || s.auth_types
            .as_ref()
            .is_some_and(|l| l.get_ref().iter().any(|t| t == "md5"))
}

/// A `cipher_suites` list: not empty, every suite one we implement.
fn cipher_suites(src: &Source, cs: &Spanned<Vec<u8>>) -> Result<Vec<u8>, ConfigError> {
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
    Ok(cs.get_ref().clone())
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
