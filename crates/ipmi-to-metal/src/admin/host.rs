//! The `Host` check of the admin server, against DNS rebinding: a web page on
//! `http://evil.example` whose name the attacker then points at 127.0.0.1 makes the browser
//! send its requests to the admin server as same-origin ones, with `Host: evil.example`, and
//! read the answers (an open `/metrics`, the status page's files). A request is served only if
//! its `Host` (and the authority of an absolute request target) is:
//!
//! - an IP address (any: a page reached by an address is its own origin, which no other site
//!   can rebind);
//! - `localhost` or a name under `.localhost` (RFC 6761: always the loopback);
//! - the machine's host name (`/proc/sys/kernel/hostname`: in the operator's DNS, not an
//!   attacker's);
//! - a name in `[admin] hosts` (the names the operator reaches the server by, behind a proxy
//!   or in Prometheus' targets).
//!
//! Anything else gets 421 Misdirected Request, which says which key to set. A request without
//! `Host` (HTTP/1.0) is served: browsers always send one, so it is no rebinding.

use super::AdminState;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;

/// The names (lower case, without a final dot) besides addresses and localhost names that
/// requests may carry in `Host`.
#[derive(Debug, Default)]
pub struct AllowedHosts {
    names: Vec<String>,
}

impl AllowedHosts {
    /// The configured names and the machine's host name.
    pub fn new(configured: &[String]) -> AllowedHosts {
        let mut names: Vec<String> = configured.iter().map(|n| normalize(n)).collect();
        if let Ok(own) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            let own = normalize(own.trim());
            if !own.is_empty() {
                names.push(own);
            }
        }
        AllowedHosts { names }
    }

    /// Whether an authority (`host`, `host:port`, `[v6]:port`) may be served.
    pub fn allows(&self, authority: &str) -> bool {
        let host = host_of(authority);
        if host.parse::<IpAddr>().is_ok() {
            return true;
        }
        let host = normalize(host);
        host == "localhost" || host.ends_with(".localhost") || self.names.contains(&host)
    }
}

/// The host of an authority: without its port, an IPv6 address without its brackets.
fn host_of(authority: &str) -> &str {
    let authority = authority.trim();
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Serves the request if its `Host` and its target's authority are allowed; 421 otherwise.
pub async fn check_host(State(state): State<AdminState>, req: Request, next: Next) -> Response {
    let auth = state.auth();
    let hosts = &auth.hosts;
    let from_header = req
        .headers()
        .get_all(header::HOST)
        .iter()
        .map(|v| v.to_str().is_ok_and(|h| hosts.allows(h)));
    let from_target = req.uri().authority().map(|a| hosts.allows(a.as_str()));
    let ok = from_header.chain(from_target).all(|ok| ok);
    if ok {
        return next.run(req).await;
    }
    tracing::info!(
        host = ?req.headers().get(header::HOST),
        "admin: a request for another host name refused (DNS rebinding?)"
    );
    (
        StatusCode::MISDIRECTED_REQUEST,
        "this host name is not served here: add it to [admin] hosts if it is this server's\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_localhost_and_configured_names_are_allowed() {
        let hosts = AllowedHosts::new(&["Shim.Example.NET".to_string()]);
        for ok in [
            "127.0.0.1",
            "127.0.0.1:9623",
            "10.1.2.3:80",
            "[::1]:9623",
            "[::1]",
            "localhost",
            "LOCALHOST:9623",
            "localhost.",
            "grafana.localhost:3000",
            "shim.example.net",
            "shim.example.net.:9623",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:9623",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "example.net",
            "shim.example.net.evil",
            "",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
    }
}
