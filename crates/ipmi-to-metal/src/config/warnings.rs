//! What in a configuration is weaker than the defaults, one sentence each saying what it
//! exposes: logged as warnings when the process starts and printed by `check-config`, one line
//! per distinct warning with the places that share it counted ([`grouped`]). The defaults
//! themselves give none.

use ipmi_proto::session::ServerConfig;
use ipmi_proto::wire::ipmi15::AuthType;

/// Passwords shorter than this are warned about: RAKP message 2 gives anyone who knows a user
/// name an HMAC of the password to try a dictionary against offline.
pub const SHORT_PASSWORD: usize = 12;

/// The weakened session settings of `server`; `ipmi15_asked` says whether the table itself
/// turned IPMI 1.5 with MD5 on (the default does, quietly, for FreeIPMI's default driver).
pub(super) fn of_session(server: &ServerConfig, ipmi15_asked: bool) -> Vec<String> {
    let mut out = Vec::new();
    // "cipher suite 1" or "cipher suites 1, 15": those of `ids` that are enabled.
    let suites = |ids: &[u8]| -> Option<String> {
        let on: Vec<String> = ids
            .iter()
            .filter(|id| server.cipher_suites.contains(id))
            .map(u8::to_string)
            .collect();
        let plural = if on.len() > 1 { "s" } else { "" };
        (!on.is_empty()).then(|| format!("cipher suite{plural} {}", on.join(", ")))
    };
    if suites(&[0]).is_some() {
        out.push(
            "cipher suite 0 is enabled: no authentication at all, any password logs in".into(),
        );
    }
    if let Some(ids) = suites(&[1, 15]) {
        out.push(format!("{ids} enabled: no integrity protection, so once a session is open anyone who sees its session ID can inject commands"));
    }
    if let Some(ids) = suites(&[2, 16]) {
        out.push(format!(
            "{ids} enabled: no encryption, commands and answers travel in clear"
        ));
    }
    if server.auth_type_enabled(AuthType::None) {
        out.push("auth_types none: IPMI 1.5 sessions open without a password".into());
    }
    if server.auth_type_enabled(AuthType::Straight) {
        out.push(
            "auth_types straight: IPMI 1.5 carries the password in clear in every packet".into(),
        );
    }
    if server.auth_type_enabled(AuthType::Md2) {
        out.push("auth_types md2: MD2 is broken; IPMI 1.5 has no encryption".into());
    }
    if ipmi15_asked && server.auth_type_enabled(AuthType::Md5) {
        out.push("IPMI 1.5 with MD5 is on: MD5 is weak and IPMI 1.5 has no encryption, and one captured packet lets the password be cracked offline (ipmi15 = false unless a client needs it)".into());
    }
    for u in &server.users {
        if u.password.expose().len() < SHORT_PASSWORD {
            out.push(format!("user {:?}: password shorter than {SHORT_PASSWORD} characters: RAKP message 2 gives anyone who knows the user name an HMAC of it to crack offline", u.name));
        }
    }
    out
}

/// How many of the places that share a warning it names.
const NAMED_PLACES: usize = 3;

/// `warnings` (whose, what) with each distinct warning once: whose is the one place, or
/// `N places: A, B, C and N-3 more` for a warning many share (10,000 BMCs whose users have the
/// same short password give one line, not 10,000). In the order each warning first came.
pub fn grouped(warnings: &[(String, &str)]) -> Vec<(String, String)> {
    let mut order: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (who, what) in warnings {
        let i = *index.entry(what).or_insert_with(|| {
            order.push((what, Vec::new()));
            order.len() - 1
        });
        order[i].1.push(who);
    }
    order
        .into_iter()
        .map(|(what, whos)| {
            let who = match whos.len() {
                1 => whos[0].to_string(),
                n => {
                    let named = whos[..n.min(NAMED_PLACES)].join(", ");
                    let more = n.saturating_sub(NAMED_PLACES);
                    let more = if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    };
                    format!("{n} places: {named}{more}")
                }
            };
            (who, what.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// Issue 19, defect 7: one line per distinct warning, with a count and a few names.
    #[test]
    fn a_warning_many_share_is_said_once_with_a_count() {
        let short = "user \"admin\": password shorter than 12 characters";
        let mut all: Vec<(String, &str)> = (0..10_000)
            .map(|i| (format!("bmc \"node{i}\""), short))
            .collect();
        all.insert(1, ("bmc \"odd\"".into(), "cipher suite 0 is enabled"));
        let g = super::grouped(&all);
        assert_eq!(g.len(), 2, "{g:?}");
        assert_eq!(
            g[0],
            (
                "10000 places: bmc \"node0\", bmc \"node1\", bmc \"node2\" and 9997 more".into(),
                short.to_string()
            )
        );
        assert_eq!(
            g[1],
            ("bmc \"odd\"".into(), "cipher suite 0 is enabled".into())
        );
    }
}
