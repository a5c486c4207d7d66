//! The `[ipxe]` table: the iPXE script endpoint, the listener the machines fetch their boot
//! script from (its own, since they reach it over the provider's network, not the admin one),
//! and the base URL they reach it at. Off unless the table is there; then both keys are needed.
//!
//! ```toml
//! [ipxe]
//! listen = "0.0.0.0:8081"
//! public_url = "http://203.0.113.7:8081"
//! ```

use backend_config::{ConfigError, Source};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use toml::Spanned;

/// The endpoint's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpxeConfig {
    /// Where it listens (TCP).
    pub listen: SocketAddr,
    /// The base URL the machines use (`http://HOST[:PORT]`, no path).
    pub public_url: String,
    /// What is weaker than it should be (plain http beyond a private network).
    pub warnings: Vec<String>,
}

/// The `[ipxe]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IpxeToml {
    listen: Option<Spanned<String>>,
    public_url: Option<Spanned<String>>,
}

/// The endpoint's settings, `None` without the table. `table` spans the whole table.
pub(super) fn ipxe(
    src: &Source,
    table: Option<&Spanned<IpxeToml>>,
) -> Result<Option<IpxeConfig>, ConfigError> {
    let Some(table) = table else {
        return Ok(None);
    };
    let t = table.get_ref();
    let (Some(listen), Some(public_url)) = (&t.listen, &t.public_url) else {
        return Err(src.err(table.span(), "[ipxe] needs both listen and public_url"));
    };
    let addr: SocketAddr = listen.get_ref().parse().map_err(|_| {
        src.err(
            listen.span(),
            format!(
                "listen: {:?} is not an address and port (e.g. \"0.0.0.0:8081\")",
                listen.get_ref()
            ),
        )
    })?;
    let url = public_url.get_ref().trim_end_matches('/').to_string();
    let host = base_host(&url).map_err(|why| {
        src.err(
            public_url.span(),
            format!("public_url {:?}: {why}", public_url.get_ref()),
        )
    })?;
    let mut warnings = Vec::new();
    if url.starts_with("http://") && !is_private(&host) {
        warnings.push(format!(
            "[ipxe] public_url {url} is plain http to a host that is not on a private network: \
             the boot scripts (and the image URLs in them) cross it in the clear, and a script \
             URL seen is a boot of that machine for whoever saw it. Use https if the machines' \
             iPXE has TLS (the BIOS builds of iPXE have none unless built with \
             DOWNLOAD_PROTO_HTTPS), or keep the endpoint on the provider's private network"
        ));
    }
    Ok(Some(IpxeConfig {
        listen: addr,
        public_url: url,
        warnings,
    }))
}

/// The host of a base URL `http(s)://HOST[:PORT]`, or why it is not one.
fn base_host(url: &str) -> Result<String, &'static str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("must start with http:// or https://")?;
    if rest.is_empty() {
        return Err("has no host");
    }
    if rest.contains(['/', '?', '#', '@']) || rest.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err("must be scheme://host[:port] only: no path, query, user or spaces");
    }
    let host = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default().to_string(),
        None => rest.rsplit_once(':').map_or(rest, |(h, _)| h).to_string(),
    };
    Ok(host)
}

/// Whether `host` is an address of a loopback, private (RFC 1918, unique local) or link-local
/// network; a name is not (where it resolves is not known here).
fn is_private(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => a.is_loopback() || a.is_private() || a.is_link_local(),
        Ok(IpAddr::V6(a)) => {
            a.is_loopback()
                || (a.segments()[0] & 0xfe00) == 0xfc00
                || (a.segments()[0] & 0xffc0) == 0xfe80
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(base_host("http://10.0.2.2:8081").unwrap(), "10.0.2.2");
        assert_eq!(
            base_host("https://boot.example.com").unwrap(),
            "boot.example.com"
        );
        assert_eq!(base_host("http://[fd00::1]:80").unwrap(), "fd00::1");
        for bad in ["ftp://h", "http://", "http://h/path", "http://u@h", "h:80"] {
            assert!(base_host(bad).is_err(), "{bad}");
        }
        assert!(is_private("10.0.2.2") && is_private("127.0.0.1") && is_private("fd00::1"));
        assert!(!is_private("203.0.113.7") && !is_private("boot.example.com"));
    }
}
