//! What a BMC reports about its LAN channel (`[bmc.lan]`), and its GUID: configured, or derived
//! from its name so that both stay the same across restarts.

use backend_config::{ConfigError, Source};
use ipmi_bmc::LanInfo;
use serde::Deserialize;
use std::net::{Ipv4Addr, SocketAddr};
use toml::Spanned;

/// `[bmc.lan]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LanToml {
    ip: Option<Spanned<String>>,
    netmask: Option<Spanned<String>>,
    gateway: Option<Spanned<String>>,
    mac: Option<Spanned<String>>,
    dhcp: Option<bool>,
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

/// The BMC's LAN parameters: `[bmc.lan]` over [`default_lan`].
pub(super) fn lan_info(
    src: &Source,
    name: &str,
    lan: Option<&LanToml>,
    listen: &SocketAddr,
) -> Result<LanInfo, ConfigError> {
    let ip4 = |v: Option<&Spanned<String>>, default: Ipv4Addr| -> Result<Ipv4Addr, ConfigError> {
        match v {
            Some(s) => s
                .get_ref()
                .parse()
                .map_err(|_| src.err(s.span(), "expected an IPv4 address")),
            None => Ok(default),
        }
    };
    let d = default_lan(name, listen);
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
pub(super) fn parse_guid(s: &str) -> Option<[u8; 16]> {
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
