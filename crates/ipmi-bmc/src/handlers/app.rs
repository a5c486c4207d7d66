//! App commands: device identity, self test, GUIDs, BMC resets, channel and user information.

use crate::dispatch::{ok, Outcome};
use crate::Bmc;
use ipmi_proto::cmd::app::{
    ChannelAccessRequest, ChannelAccessResponse, ChannelInfoRequest, ChannelInfoResponse,
    DeviceIdResponse, UserAccessRequest, UserAccessResponse, UserNameResponse, IPMI_FORUM_IANA,
    MEDIUM_LAN, NO_ACCESS, PROTOCOL_IPMB,
};
use ipmi_proto::session::Request;
use ipmi_proto::types::{CompletionCode, Privilege};

/// The number of user IDs the BMC reports (ipmitool lists this many in `user list`).
const MIN_REPORTED_USERS: u8 = 10;

impl Bmc {
    pub(crate) fn device_id(&self) -> Outcome {
        let major: u8 = env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap_or(0);
        let minor: u8 = env!("CARGO_PKG_VERSION_MINOR").parse().unwrap_or(0);
        ok(DeviceIdResponse {
            device_id: 0x20,
            device_revision: 1,
            provides_sdrs: false,
            firmware_major: major & 0x7f,
            unavailable: false,
            // BCD: minor version 1 is ".01".
            firmware_minor_bcd: ((minor / 10 % 10) << 4) | (minor % 10),
            ipmi_version: 0x02,
            // Chassis, FRU inventory, SEL, SDR repository and sensor device.
            additional_support: crate::sensors::DEVICE_SUPPORT,
            manufacturer_id: 0,
            product_id: 0x0001,
            aux_firmware: None,
        })
    }

    pub(crate) async fn system_guid(&self) -> Outcome {
        let guid = match self.backend.inventory().await {
            Ok(inv) => inv.guid.unwrap_or(self.settings.guid),
            Err(_) => self.settings.guid,
        };
        ok(guid)
    }

    pub(crate) fn bmc_reset(&self, req: &Request, kind: &str) -> Outcome {
        // The machine is not touched: only the (virtual) BMC would restart, and it has nothing to reset.
        tracing::info!(who = %self.requester(req), kind, "BMC reset requested (no effect on the machine)");
        Ok(Vec::new())
    }

    pub(crate) fn channel_info(&self, req: &Request, r: ChannelInfoRequest) -> Outcome {
        if !self.is_our_channel(r.channel) {
            return Err(CompletionCode::INVALID_FIELD);
        }
        ok(ChannelInfoResponse {
            channel: self.settings.channel,
            medium: MEDIUM_LAN,
            protocol: PROTOCOL_IPMB,
            session_support: 2,
            active_sessions: req.context.active_sessions.min(63),
            vendor_id: IPMI_FORUM_IANA,
            aux: [0, 0],
        })
    }

    pub(crate) fn channel_access(&self, r: ChannelAccessRequest) -> Outcome {
        if !self.is_our_channel(r.channel) {
            return Err(CompletionCode::INVALID_FIELD);
        }
        ok(ChannelAccessResponse {
            // Alerting disabled (we send no PET alerts), access mode "always available".
            access: 0x22,
            privilege_limit: Privilege::Administrator,
        })
    }

    fn max_users(&self) -> u8 {
        let top = self.settings.users.iter().map(|u| u.id).max().unwrap_or(0);
        top.clamp(MIN_REPORTED_USERS, 63)
    }

    pub(crate) fn user_access(&self, r: UserAccessRequest) -> Outcome {
        if !self.is_our_channel(r.channel) || r.user_id == 0 || r.user_id > self.max_users() {
            return Err(CompletionCode::INVALID_FIELD);
        }
        let users = &self.settings.users;
        let user = users.iter().find(|u| u.id == r.user_id);
        let enabled_users = users.iter().filter(|u| u.enabled).count() as u8;
        ok(UserAccessResponse {
            max_users: self.max_users(),
            enabled_users,
            enabled: Some(user.is_some_and(|u| u.enabled)),
            // User 1, the null user, has a fixed (empty) name.
            fixed_names: 1,
            flags: if user.is_some() { 0x10 } else { 0 },
            privilege_limit: user.map_or(NO_ACCESS, |u| u.privilege.as_u8()),
        })
    }

    pub(crate) fn user_name(&self, id: u8) -> Outcome {
        if id == 0 || id > self.max_users() {
            return Err(CompletionCode::INVALID_FIELD);
        }
        let name = self
            .settings
            .users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.name.as_str())
            .unwrap_or_default();
        ok(UserNameResponse::new(name))
    }
}
