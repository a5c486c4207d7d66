//! The payload commands the session layer answers itself, because a payload runs inside a
//! session (IPMI 2.0 section 24): Activate Payload, Deactivate Payload, Get Payload Activation
//! Status, Get Payload Instance Info, Get Channel Payload Support and Version; and the SOL
//! configuration (section 26), which activation and the packet stream obey.
//!
//! One SOL instance (type 1, instance 1) per BMC, as on real BMCs: a second activation gets
//! 0x80; Deactivate Payload from any session with the SOL privilege ends it (Ironic does so
//! before activating its own), and the console it ran for is told.

use super::config::ServerConfig;
use super::sol::{suite_can, Sol, SolSession, MAX_CHARS};
use super::table::{Protocol, SessionTable};
use crate::cmd::app::{
    payload_cc, ActivatePayload, ActivatePayloadRequest, ActivatePayloadResponse,
    ChannelPayloadSupport, DeactivatePayload, DeactivatePayloadRequest, GetChannelPayloadSupport,
    GetChannelPayloadVersion, GetPayloadActivationStatus, GetPayloadInstanceInfo,
    PayloadActivationStatus, PayloadInstanceInfo, PayloadInstanceRequest, PayloadVersionRequest,
    CURRENT_CHANNEL, PAYLOAD_IPMI, PAYLOAD_SOL, SESSION_SETUP_ALL, VERSION_1_0,
};
use crate::cmd::transport::{
    GetSolConfigParams, SetSolConfigParams, SetSolConfigRequest, SolConfigRequest,
    SolConfigResponse,
};
use crate::cmd::{Body, Command, Empty};
use crate::types::{CompletionCode, Privilege};
use crate::wire::ipmi20::PayloadType;
use crate::wire::message;
use rand::RngCore;

/// The SOL payload type number.
const SOL: u8 = PayloadType::SOL.0;
/// The one SOL instance.
const INSTANCE: u8 = 1;
/// The payload sizes announced in both directions: the SOL header and the most characters.
const PAYLOAD_SIZE: u16 = (4 + MAX_CHARS) as u16;
/// No VLAN.
const NO_VLAN: u16 = 0xffff;

/// What a payload command works on.
pub(crate) struct Ctx<'a, R: RngCore> {
    pub(crate) config: &'a ServerConfig,
    pub(crate) sol: &'a mut Sol,
    pub(crate) table: &'a mut SessionTable,
    pub(crate) rng: &'a mut R,
    /// The session asking.
    pub(crate) id: u32,
}

type Answer = (CompletionCode, Vec<u8>);

fn body<B: Body>(r: Result<B, CompletionCode>) -> Answer {
    match r {
        Ok(b) => (CompletionCode::OK, b.to_bytes()),
        Err(cc) => (cc, Vec::new()),
    }
}

/// The answer to `req` if it is a payload or SOL configuration command; `None` otherwise.
pub(crate) fn answer<R: RngCore>(mut cx: Ctx<'_, R>, req: &message::Request) -> Option<Answer> {
    fn is<C: Command>(req: &message::Request) -> bool {
        req.netfn == C::NETFN && req.cmd == C::CMD
    }
    let d = &req.data;
    Some(if is::<ActivatePayload>(req) {
        body(cx.parse::<ActivatePayload>(d).and_then(|r| cx.activate(&r)))
    } else if is::<DeactivatePayload>(req) {
        body(
            cx.parse::<DeactivatePayload>(d)
                .and_then(|r| cx.deactivate(&r)),
        )
    } else if is::<GetPayloadActivationStatus>(req) {
        body(
            cx.parse::<GetPayloadActivationStatus>(d)
                .and_then(|t| cx.status(t)),
        )
    } else if is::<GetPayloadInstanceInfo>(req) {
        body(
            cx.parse::<GetPayloadInstanceInfo>(d)
                .and_then(|r| cx.instance(&r)),
        )
    } else if is::<GetChannelPayloadSupport>(req) {
        body(
            cx.parse::<GetChannelPayloadSupport>(d)
                .and_then(|c| cx.support(c)),
        )
    } else if is::<GetChannelPayloadVersion>(req) {
        body(
            cx.parse::<GetChannelPayloadVersion>(d)
                .and_then(|r| cx.version(&r)),
        )
    } else if is::<GetSolConfigParams>(req) {
        body(
            cx.parse::<GetSolConfigParams>(d)
                .and_then(|r| cx.get_sol(&r)),
        )
    } else if is::<SetSolConfigParams>(req) {
        body(
            cx.parse::<SetSolConfigParams>(d)
                .and_then(|r| cx.set_sol(&r)),
        )
    } else {
        return None;
    })
}

impl<R: RngCore> Ctx<'_, R> {
    fn privilege(&self) -> Option<Privilege> {
        self.table.sessions.get(&self.id).map(|s| s.privilege)
    }

    /// Checks the session's privilege against what `C` needs, then decodes the body.
    fn parse<C: Command>(&self, data: &[u8]) -> Result<C::Request, CompletionCode> {
        if C::PRIVILEGE > self.privilege() {
            return Err(CompletionCode::INSUFFICIENT_PRIVILEGE);
        }
        C::Request::parse(data).map_err(CompletionCode::from)
    }

    fn channel_ok(&self, channel: u8) -> bool {
        channel == CURRENT_CHANNEL || channel == self.config.channel
    }

    /// SOL type and instance 1, and the SOL privilege (configuration parameter 2).
    fn sol_instance(&self, payload_type: u8, instance: u8) -> Result<(), CompletionCode> {
        if payload_type != SOL || instance != INSTANCE {
            return Err(CompletionCode::INVALID_FIELD);
        }
        if Some(self.sol.config().privilege) > self.privilege() {
            return Err(CompletionCode::INSUFFICIENT_PRIVILEGE);
        }
        Ok(())
    }

    fn activate(
        &mut self,
        r: &ActivatePayloadRequest,
    ) -> Result<ActivatePayloadResponse, CompletionCode> {
        self.sol_instance(r.payload_type, r.instance)?;
        let config = self.sol.config().clone();
        if !config.enabled {
            return Err(payload_cc::PAYLOAD_DISABLED);
        }
        if self.sol.taken_elsewhere() {
            return Err(payload_cc::ALREADY_ACTIVE);
        }
        if let Some(other) = self.sol.active_session() {
            if self.table.sessions.contains_key(&other) {
                return Err(payload_cc::ALREADY_ACTIVE);
            }
        }
        let s = self
            .table
            .sessions
            .get(&self.id)
            .ok_or(CompletionCode::INVALID_STATE)?;
        if !matches!(s.protocol, Protocol::V20 { .. }) {
            // Payloads exist in RMCP+ sessions only.
            return Err(CompletionCode::INVALID_COMMAND);
        }
        let (can_encrypt, can_authenticate) = suite_can(s);
        if r.encrypt() && !can_encrypt {
            return Err(payload_cc::CANNOT_ENCRYPT);
        }
        if !r.encrypt() && config.force_encryption && can_encrypt {
            return Err(payload_cc::MUST_ENCRYPT);
        }
        if r.authenticate() && !can_authenticate {
            return Err(CompletionCode::INVALID_FIELD);
        }
        // Forced authentication overrides what the console asks (parameter 2, bit 6).
        let authenticate = can_authenticate && (r.authenticate() || config.force_authentication);
        self.sol.activate(s, (r.encrypt(), authenticate));
        Ok(ActivatePayloadResponse {
            aux: [0; 4],
            inbound_size: PAYLOAD_SIZE,
            outbound_size: PAYLOAD_SIZE,
            port: config.port,
            vlan: NO_VLAN,
        })
    }

    /// Deactivate Payload: by the session that runs SOL, or by another session with at least
    /// that session's privilege (a `user` session cannot take an administrator's console
    /// over: 0xD4). The event names who ended whose session, for the audit.
    fn deactivate(&mut self, r: &DeactivatePayloadRequest) -> Result<Empty, CompletionCode> {
        self.sol_instance(r.payload_type, r.instance)?;
        let Some(owner) = self.sol.active_session() else {
            return Err(payload_cc::ALREADY_DEACTIVATED);
        };
        if owner == self.id {
            self.sol
                .deactivate("deactivated by its session", (None, None), self.rng);
            return Ok(Empty);
        }
        let by = self.table.sessions.get(&self.id).map(|s| SolSession {
            user: s.user_name.clone(),
            peer: s.peer,
            privilege: s.privilege,
        });
        let owner_privilege = self.table.sessions.get(&owner).map(|s| s.privilege);
        if owner_privilege > by.as_ref().map(|b| b.privilege) {
            tracing::warn!(by = ?by.as_ref().map(|b| &b.user), privilege = ?by.as_ref().map(|b| b.privilege), owner_privilege = ?owner_privilege, "SOL deactivation refused: the SOL session has a higher privilege");
            return Err(CompletionCode::INSUFFICIENT_PRIVILEGE);
        }
        let s = self.table.sessions.get_mut(&owner);
        self.sol
            .deactivate("deactivated by another session", (s, by), self.rng);
        Ok(Empty)
    }

    fn status(&self, payload_type: u8) -> Result<PayloadActivationStatus, CompletionCode> {
        if payload_type != SOL {
            return Err(CompletionCode::INVALID_FIELD);
        }
        Ok(PayloadActivationStatus {
            capacity: 1,
            active: u16::from(self.sol.active_session().is_some()),
        })
    }

    fn instance(&self, r: &PayloadInstanceRequest) -> Result<PayloadInstanceInfo, CompletionCode> {
        if r.payload_type != SOL || r.instance != INSTANCE {
            return Err(CompletionCode::INVALID_FIELD);
        }
        let mut info = [0; 8];
        let session_id = self.sol.active_session().unwrap_or(0);
        if session_id != 0 {
            // The system serial port the instance is connected to: the first.
            info[0] = 1;
        }
        Ok(PayloadInstanceInfo { session_id, info })
    }

    fn support(&self, channel: u8) -> Result<ChannelPayloadSupport, CompletionCode> {
        if !self.channel_ok(channel & 0x0f) {
            return Err(CompletionCode::INVALID_FIELD);
        }
        Ok(ChannelPayloadSupport {
            standard: PAYLOAD_IPMI | PAYLOAD_SOL,
            session_setup: SESSION_SETUP_ALL,
            oem: 0,
        })
    }

    fn version(&self, r: &PayloadVersionRequest) -> Result<u8, CompletionCode> {
        if !self.channel_ok(r.channel) {
            return Err(CompletionCode::INVALID_FIELD);
        }
        match r.payload_type {
            0 | SOL => Ok(VERSION_1_0),
            _ => Err(payload_cc::PAYLOAD_NOT_AVAILABLE),
        }
    }

    fn get_sol(&self, r: &SolConfigRequest) -> Result<SolConfigResponse, CompletionCode> {
        if !self.channel_ok(r.channel) {
            return Err(CompletionCode::INVALID_FIELD);
        }
        let data = self.sol.params.get(r.parameter, self.config.channel)?;
        Ok(SolConfigResponse {
            data: if r.revision_only { Vec::new() } else { data },
        })
    }

    fn set_sol(&mut self, r: &SetSolConfigRequest) -> Result<Empty, CompletionCode> {
        if !self.channel_ok(r.channel) {
            return Err(CompletionCode::INVALID_FIELD);
        }
        self.sol.params.set(r.parameter, &r.data)?;
        let who = self
            .table
            .sessions
            .get(&self.id)
            .map(|s| s.user_name.clone());
        tracing::info!(user = ?who, parameter = r.parameter, data = ?r.data, "SOL configuration set");
        Ok(Empty)
    }
}
