//! Who a request comes from: a session's token (`X-Auth-Token`) or Basic credentials, checked
//! against the users of each BMC in the service's scope. A user sees exactly the BMCs whose
//! accounts accept its name and password, each with the role of its privilege there.

use crate::roles::{Needs, Role};
use crate::Service;
use axum::http::{header, HeaderMap};
use base64::Engine as _;
use ipmi_proto::session::PasswordLogin;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;
use zeroize::Zeroizing;

/// What a user holds on one BMC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The account's user ID there (for the SEL record).
    pub user_id: u8,
    /// The account's IPMI privilege (for the audit record).
    pub privilege: ipmi_proto::types::Privilege,
    /// The role it gives.
    pub role: Role,
}

/// An authenticated user: its name and what it holds on each BMC it may see.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The user name.
    pub user: String,
    /// BMC name -> grant.
    pub grants: Arc<BTreeMap<String, Grant>>,
    /// The session the request came with, if any.
    pub session: Option<String>,
}

impl Principal {
    /// The grant on `bmc`, if the user may see it.
    pub fn grant(&self, bmc: &str) -> Option<&Grant> {
        self.grants.get(bmc)
    }

    /// Whether the user holds `needs` on `bmc`.
    pub fn may(&self, bmc: &str, needs: Needs) -> bool {
        self.grant(bmc).is_some_and(|g| g.role.holds(needs))
    }

    /// The highest role the user holds anywhere (for the service's own resources).
    pub fn best_role(&self) -> Option<Role> {
        self.grants.values().map(|g| g.role).max()
    }
}

/// Basic credentials from an `Authorization` header.
pub(crate) fn basic(headers: &HeaderMap) -> Option<(String, Zeroizing<Vec<u8>>)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?,
    );
    let colon = raw.iter().position(|b| *b == b':')?;
    let user = String::from_utf8(raw[..colon].to_vec()).ok()?;
    Some((user, Zeroizing::new(raw[colon + 1..].to_vec())))
}

/// Checks `user`/`password` from `ip` on the BMCs named `names` and counts the login on each,
/// in the same limiter as IPMI logins: a success where the password matched, and, when it
/// matched nowhere, a failure on every one (a wrong password, or an unknown user). `None`: no
/// BMC accepts it (or every one that might is locked out).
pub(crate) fn login(
    svc: &Service,
    names: &[String],
    ip: IpAddr,
    user: &str,
    password: &[u8],
) -> Option<BTreeMap<String, Grant>> {
    let now = Instant::now();
    let fleet = &svc.fleet;
    let mut grants = BTreeMap::new();
    let mut outcomes = Vec::with_capacity(names.len());
    for name in names {
        let outcome = fleet.check_password(name, now, ip, user, password);
        if let PasswordLogin::Accepted { id, privilege } = outcome {
            if let Some(role) = Role::from_privilege(privilege) {
                grants.insert(
                    name.clone(),
                    Grant {
                        user_id: id,
                        privilege,
                        role,
                    },
                );
            }
        }
        outcomes.push(outcome);
    }
    let accepted = !grants.is_empty();
    for (name, outcome) in names.iter().zip(outcomes) {
        match outcome {
            PasswordLogin::Accepted { .. } => fleet.count_login(name, now, ip, user, outcome),
            _ if !accepted => fleet.count_login(name, now, ip, user, outcome),
            _ => {}
        }
    }
    if !accepted {
        tracing::warn!(peer = %ip, user = ?user, "redfish login refused");
        return None;
    }
    Some(grants)
}

/// The user of a request, from its session token or its Basic credentials; `target`: the one
/// BMC the request is about, if any (Basic credentials are then checked on it alone).
pub(crate) fn authenticate(
    svc: &Service,
    headers: &HeaderMap,
    ip: IpAddr,
    target: Option<&str>,
) -> Option<Principal> {
    if let Some(token) = headers.get("x-auth-token").and_then(|v| v.to_str().ok()) {
        return svc.sessions.principal(token);
    }
    let (user, password) = basic(headers)?;
    let names = match target.filter(|t| svc.in_scope(t)) {
        Some(t) => vec![t.to_string()],
        None => svc.scope(),
    };
    let grants = login(svc, &names, ip, &user, &password)?;
    Some(Principal {
        user,
        grants: Arc::new(grants),
        session: None,
    })
}
