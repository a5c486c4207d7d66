//! Get Session Info (IPMI 2.0 section 22.20, App 0x3D, any session).

use crate::cmd::{command, take, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Session Info: who is logged in, by index, handle or session ID.
    GetSessionInfo, "Get Session Info", "22.20",
    NetFn::APP, 0x3d, Some(Privilege::Callback), SessionInfoRequest, SessionInfoResponse
);

/// Session index byte: look the session up by handle (byte 2).
const BY_HANDLE: u8 = 0xfe;
/// Session index byte: look the session up by session ID (bytes 2..6).
const BY_ID: u8 = 0xff;

/// Which session a Get Session Info request asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionInfoRequest {
    /// Index 0: the session the request comes in.
    Current,
    /// Index 1..=0xFD: the n-th active session.
    Index(u8),
    /// 0xFE: the session with this handle.
    Handle(u8),
    /// 0xFF: the session with this session ID.
    SessionId(u32),
}

impl Body for SessionInfoRequest {
    /// Bytes after an index other than 0xFE and 0xFF are ignored, as BMCs do.
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        let Some(&index) = d.first() else {
            return Err(ParseError::Length);
        };
        Ok(match index {
            0 => SessionInfoRequest::Current,
            BY_HANDLE if d.len() == 2 => SessionInfoRequest::Handle(d[1]),
            BY_ID if d.len() == 5 => SessionInfoRequest::SessionId(u32::from_le_bytes(take(d, 1)?)),
            BY_HANDLE | BY_ID => return Err(ParseError::Length),
            n => SessionInfoRequest::Index(n),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        match *self {
            SessionInfoRequest::Current => out.push(0),
            SessionInfoRequest::Index(n) => out.push(n),
            SessionInfoRequest::Handle(h) => out.extend_from_slice(&[BY_HANDLE, h]),
            SessionInfoRequest::SessionId(id) => {
                out.push(BY_ID);
                out.extend_from_slice(&id.to_le_bytes());
            }
        }
    }
}

/// The session protocol in bits 7:4 of the channel byte, for LAN channels: IPMI v1.5.
pub const PROTOCOL_IPMI15: u8 = 0;
/// The session protocol in bits 7:4 of the channel byte, for LAN channels: IPMI v2.0 / RMCP+.
pub const PROTOCOL_RMCP_PLUS: u8 = 1;

/// The Get Session Info response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionInfoResponse {
    /// The handle of the session asked about (0 when there is none).
    pub handle: u8,
    /// How many sessions the channel can have (bits 5:0).
    pub max_sessions: u8,
    /// How many sessions are active (bits 5:0).
    pub active_sessions: u8,
    /// The session asked about, when it exists.
    pub session: Option<SessionDetails>,
}

/// What Get Session Info tells about an active session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionDetails {
    /// The session's user ID.
    pub user_id: u8,
    /// The session's operating privilege level.
    pub privilege: Privilege,
    /// Bits 7:4 of the channel byte: for LAN, [`PROTOCOL_IPMI15`] or [`PROTOCOL_RMCP_PLUS`].
    pub protocol: u8,
    /// Bits 3:0 of the channel byte: the channel the session runs on.
    pub channel: u8,
    /// The LAN channel data, if the BMC sends it.
    pub lan: Option<LanSession>,
}

/// The console's address, as Get Session Info gives it for a LAN session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LanSession {
    /// The console's IPv4 address.
    pub ip: [u8; 4],
    /// The console's MAC address (zero when unknown).
    pub mac: [u8; 6],
    /// The console's UDP port.
    pub port: u16,
}

impl Body for SessionInfoResponse {
    /// Three forms: 3 bytes (no such session), 6 (a session, no channel data: ipmi_sim sends
    /// this) and 18 (with the LAN channel data).
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        if !matches!(d.len(), 3 | 6 | 18) {
            return Err(ParseError::Length);
        }
        let session = if d.len() >= 6 {
            let lan = (d.len() == 18).then(|| -> Result<LanSession, ParseError> {
                Ok(LanSession {
                    ip: take(d, 6)?,
                    mac: take(d, 10)?,
                    port: u16::from_be_bytes(take(d, 16)?),
                })
            });
            Some(SessionDetails {
                user_id: d[3] & 0x3f,
                privilege: Privilege::from_u8(d[4]).ok_or(ParseError::Field)?,
                protocol: d[5] >> 4,
                channel: d[5] & 0x0f,
                lan: lan.transpose()?,
            })
        } else {
            None
        };
        Ok(SessionInfoResponse {
            handle: d[0],
            max_sessions: d[1] & 0x3f,
            active_sessions: d[2] & 0x3f,
            session,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[
            self.handle,
            self.max_sessions & 0x3f,
            self.active_sessions & 0x3f,
        ]);
        let Some(s) = &self.session else {
            return;
        };
        out.extend_from_slice(&[
            s.user_id & 0x3f,
            s.privilege.as_u8(),
            (s.protocol << 4) | (s.channel & 0x0f),
        ]);
        if let Some(lan) = &s.lan {
            out.extend_from_slice(&lan.ip);
            out.extend_from_slice(&lan.mac);
            out.extend_from_slice(&lan.port.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn requests_of_ipmitool() {
        // `session info active` asks for the current session, `session info all` by index.
        assert_eq!(
            captured::<SessionInfoRequest>(&[0x00]),
            SessionInfoRequest::Current
        );
        assert_eq!(
            captured::<SessionInfoRequest>(&[0x01]),
            SessionInfoRequest::Index(1)
        );
        assert_eq!(
            captured::<SessionInfoRequest>(&[0xfe, 0x02]),
            SessionInfoRequest::Handle(2)
        );
        round_trip(&SessionInfoRequest::SessionId(0x1234_5678));
        assert_eq!(SessionInfoRequest::parse(&[]), Err(ParseError::Length));
        assert_eq!(SessionInfoRequest::parse(&[0xfe]), Err(ParseError::Length));
        assert_eq!(
            SessionInfoRequest::parse(&[0xff, 1, 2]),
            Err(ParseError::Length)
        );
        assert_eq!(
            SessionInfoRequest::parse(&[0x00, 0x99]),
            Ok(SessionInfoRequest::Current),
            "trailing bytes after a plain index are ignored"
        );
    }

    #[test]
    fn responses_of_ipmi_sim_and_ours() {
        // ipmi_sim: handle 1, 63 possible, 1 active, user 2 at administrator on channel 1, RMCP+,
        // without channel data; then "no session at that index".
        let r: SessionInfoResponse = captured(&hex::decode("013f01020411").unwrap());
        let s = r.session.unwrap();
        assert_eq!((r.handle, r.max_sessions, r.active_sessions), (1, 63, 1));
        assert_eq!((s.user_id, s.privilege), (2, Privilege::Administrator));
        assert_eq!(
            (s.protocol, s.channel, s.lan),
            (PROTOCOL_RMCP_PLUS, 1, None)
        );
        let none: SessionInfoResponse = captured(&[0x00, 0x3f, 0x01]);
        assert_eq!(none.session, None);
        // Ours, with the console's address 127.0.0.1 port 40001.
        let r: SessionInfoResponse =
            captured(&hex::decode("013f010204117f0000010000000000009c41").unwrap());
        let lan = r.session.unwrap().lan.unwrap();
        assert_eq!((lan.ip, lan.port), ([127, 0, 0, 1], 40001));
        round_trip(&SessionInfoResponse {
            handle: 7,
            max_sessions: 4,
            active_sessions: 2,
            session: Some(SessionDetails {
                user_id: 3,
                privilege: Privilege::User,
                protocol: PROTOCOL_IPMI15,
                channel: 1,
                lan: Some(LanSession {
                    ip: [10, 0, 0, 1],
                    mac: [1, 2, 3, 4, 5, 6],
                    port: 623,
                }),
            }),
        });
        assert_eq!(
            SessionInfoResponse::parse(&[1, 0x3f, 1, 2]),
            Err(ParseError::Length)
        );
    }
}
