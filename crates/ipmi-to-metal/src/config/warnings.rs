//! What in a configuration is weaker than the defaults, one sentence each saying what it
//! exposes: logged as warnings when the process starts (one line per BMC or discovery and
//! setting) and printed by `check-config`. The defaults themselves give none.

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
