//! Activate Payload (IPMI 2.0 section 24.1, App 0x48): starts a payload instance (Serial over
//! LAN) in the session that asks, with the encryption and authentication it asks for.

use crate::cmd::{command, expect_len, take, Body};
use crate::types::{CompletionCode, NetFn, ParseError, Privilege};

command!(
    /// Activate Payload (`ipmitool sol activate`, FreeIPMI `ipmiconsole`). The privilege it needs
    /// depends on the payload: for SOL, the level SOL configuration parameter 2 names (user by
    /// default), which the session layer checks.
    ActivatePayload, "Activate Payload", "24.1",
    NetFn::APP, 0x48, Some(Privilege::User),
    ActivatePayloadRequest, ActivatePayloadResponse
);

/// Completion code: the payload is already active on another session.
pub const ALREADY_ACTIVE: CompletionCode = CompletionCode(0x80);
/// Completion code: the payload type is disabled.
pub const PAYLOAD_DISABLED: CompletionCode = CompletionCode(0x81);
/// Completion code: the payload activation limit is reached.
pub const ACTIVATION_LIMIT: CompletionCode = CompletionCode(0x82);
/// Completion code: the payload cannot be activated with encryption.
pub const CANNOT_ENCRYPT: CompletionCode = CompletionCode(0x83);
/// Completion code: the payload cannot be activated without encryption.
pub const MUST_ENCRYPT: CompletionCode = CompletionCode(0x84);

/// Auxiliary request data, byte 1, bit 7: activate with encryption.
pub const AUX_ENCRYPT: u8 = 0x80;
/// Auxiliary request data, byte 1, bit 6: activate with authentication.
pub const AUX_AUTHENTICATE: u8 = 0x40;

/// The Activate Payload request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActivatePayloadRequest {
    /// The payload type (bits 5:0; 1 is SOL).
    pub payload_type: u8,
    /// The payload instance (bits 3:0; 1 for the one SOL instance).
    pub instance: u8,
    /// The auxiliary request data (for SOL, byte 1: encryption, authentication, shared serial
    /// alert behaviour, startup handshake; the other bytes reserved).
    pub aux: [u8; 4],
}

impl ActivatePayloadRequest {
    /// Whether the console asks for encrypted payload packets.
    pub fn encrypt(&self) -> bool {
        self.aux[0] & AUX_ENCRYPT != 0
    }

    /// Whether the console asks for authenticated payload packets.
    pub fn authenticate(&self) -> bool {
        self.aux[0] & AUX_AUTHENTICATE != 0
    }
}

impl Body for ActivatePayloadRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 6, 6)?;
        Ok(ActivatePayloadRequest {
            payload_type: d[0] & 0x3f,
            instance: d[1] & 0x0f,
            aux: take(d, 2)?,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.payload_type, self.instance]);
        out.extend_from_slice(&self.aux);
    }
}

/// The Activate Payload response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActivatePayloadResponse {
    /// Auxiliary response data (zero for SOL).
    pub aux: [u8; 4],
    /// The largest payload the console may send to the BMC.
    pub inbound_size: u16,
    /// The largest payload the BMC sends to the console.
    pub outbound_size: u16,
    /// The UDP port the payload travels on (the session's port).
    pub port: u16,
    /// The VLAN number (0xFFFF: none).
    pub vlan: u16,
}

impl Body for ActivatePayloadResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 12, 12)?;
        let u16_at = |at| take::<2>(d, at).map(u16::from_le_bytes);
        Ok(ActivatePayloadResponse {
            aux: take(d, 0)?,
            inbound_size: u16_at(4)?,
            outbound_size: u16_at(6)?,
            port: u16_at(8)?,
            vlan: u16_at(10)?,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.aux);
        for v in [self.inbound_size, self.outbound_size, self.port, self.vlan] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn ipmitool_sol_activate_and_ipmi_sim_answer() {
        // ipmitool: SOL instance 1, encrypted and authenticated, alerts deferred, CTS not asserted.
        let r: ActivatePayloadRequest = captured(&[0x01, 0x01, 0xc6, 0, 0, 0]);
        assert_eq!((r.payload_type, r.instance), (1, 1));
        assert!(r.encrypt() && r.authenticate());
        // ipmi_sim: sizes 0x100 and 0x100... here 255 + header, on port 623, no VLAN.
        let a: ActivatePayloadResponse =
            captured(&[0, 0, 0, 0, 0x03, 0x01, 0x03, 0x01, 0x6f, 0x02, 0xff, 0xff]);
        assert_eq!(
            (a.inbound_size, a.outbound_size, a.port, a.vlan),
            (259, 259, 623, 0xffff)
        );
        round_trip(&ActivatePayloadRequest {
            payload_type: 1,
            instance: 1,
            aux: [0; 4],
        });
        assert_eq!(
            ActivatePayloadRequest::parse(&[1, 1, 0]),
            Err(ParseError::Length)
        );
        assert_eq!(
            ActivatePayloadResponse::parse(&[0; 11]),
            Err(ParseError::Length)
        );
    }
}
