//! Transport commands: the LAN configuration that `ipmitool lan print` shows.

use crate::dispatch::{ok, Outcome};
use crate::Bmc;
use ipmi_proto::cmd::transport::{
    lan_param as p, LanConfigRequest, LanConfigResponse, PARAMETER_NOT_SUPPORTED,
};
use ipmi_proto::types::CompletionCode;

impl Bmc {
    pub(crate) fn lan_config(&self, r: LanConfigRequest) -> Outcome {
        if !self.is_our_channel(r.channel) {
            return Err(CompletionCode::INVALID_FIELD);
        }
        let lan = &self.settings.lan;
        let auth = self.settings.auth_types & 0x17;
        let suites = &self.settings.cipher_suites;
        let data: Vec<u8> = match r.parameter {
            p::SET_IN_PROGRESS => vec![0],
            p::AUTH_TYPE_SUPPORT => vec![auth],
            // Callback, user, operator, administrator, OEM.
            p::AUTH_TYPE_ENABLES => vec![auth, auth, auth, auth, 0],
            p::IP_ADDRESS => lan.ip.octets().to_vec(),
            p::IP_ADDRESS_SOURCE => vec![if lan.dhcp { 2 } else { 1 }],
            p::MAC_ADDRESS => lan.mac.to_vec(),
            p::SUBNET_MASK => lan.netmask.octets().to_vec(),
            p::IPV4_HEADER => vec![0x40, 0x40, 0x10],
            p::ARP_CONTROL | p::GRATUITOUS_ARP_INTERVAL | p::VLAN_PRIORITY => vec![0],
            p::DEFAULT_GATEWAY => lan.gateway.octets().to_vec(),
            p::BACKUP_GATEWAY => vec![0; 4],
            p::DEFAULT_GATEWAY_MAC | p::BACKUP_GATEWAY_MAC => vec![0; 6],
            p::COMMUNITY_STRING => {
                let mut c = b"public".to_vec();
                c.resize(18, 0);
                c
            }
            p::VLAN_ID => vec![0, 0],
            p::CIPHER_SUITE_SUPPORT => {
                let mut v = vec![suites.len() as u8];
                v.extend_from_slice(suites);
                v
            }
            p::CIPHER_SUITE_ENTRIES => {
                let mut v = vec![0];
                v.extend_from_slice(suites);
                v
            }
            p::CIPHER_SUITE_PRIVILEGES => {
                // One nibble per cipher suite entry: the highest privilege it may reach.
                let mut v = vec![0u8; 9];
                for i in 0..suites.len().min(16) {
                    v[1 + i / 2] |= 0x4 << (4 * (i % 2));
                }
                v
            }
            _ => return Err(CompletionCode(PARAMETER_NOT_SUPPORTED)),
        };
        ok(LanConfigResponse {
            data: if r.revision_only { Vec::new() } else { data },
        })
    }
}
