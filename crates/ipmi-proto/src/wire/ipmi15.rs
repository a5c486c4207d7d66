//! The IPMI 1.5 session wrapper (IPMI 2.0 section 13.6, table 13-4).
//!
//! ```text
//! 0: auth type  1..5: session sequence (LE)  5..9: session ID (LE)
//! [9..25: auth code, present unless auth type is NONE]  then: payload length (1 byte), payload
//! ```
//! Some senders add a "legacy pad" byte after the payload; it is ignored. None is sent: ipmitool's
//! `lan` interface takes every byte after the header but the last as response data (a pad would
//! show as one more data byte, and `sel info` rejects a 15-byte answer), and FreeIPMI sends none
//! either (the pad was for long-gone 10/100 Ethernet controllers).

use super::{array, byte, u32_le, Result, WireError};

/// IPMI 1.5 authentication types (IPMI 2.0 section 13.6, table 13-17).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum AuthType {
    /// No authentication.
    None = 0,
    /// MD2.
    Md2 = 1,
    /// MD5.
    Md5 = 2,
    /// The password in clear ("straight password/key").
    Straight = 4,
    /// OEM proprietary.
    Oem = 5,
    /// Marks an IPMI 2.0 / RMCP+ packet.
    RmcpPlus = 6,
}

impl AuthType {
    /// Decodes bits 3:0 of the auth type byte.
    pub fn from_u8(v: u8) -> Option<AuthType> {
        Some(match v & 0x0f {
            0 => AuthType::None,
            1 => AuthType::Md2,
            2 => AuthType::Md5,
            4 => AuthType::Straight,
            5 => AuthType::Oem,
            6 => AuthType::RmcpPlus,
            _ => return None,
        })
    }
    /// The bit of this auth type in an auth type support mask (Get Channel Auth Capabilities).
    pub const fn mask_bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A parsed IPMI 1.5 session header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    /// The authentication type of this packet.
    pub auth_type: AuthType,
    /// The session sequence number (0 outside a session).
    pub sequence: u32,
    /// The session ID (0 outside a session).
    pub session_id: u32,
    /// The authentication code, present unless `auth_type` is NONE.
    pub auth_code: Option<[u8; 16]>,
}

impl Repr {
    /// Parses a session header and returns it with the payload (the IPMI message).
    pub fn parse(b: &[u8]) -> Result<(Repr, &[u8])> {
        let auth_type = AuthType::from_u8(byte(b, 0)?).ok_or(WireError::Malformed)?;
        if auth_type == AuthType::RmcpPlus {
            return Err(WireError::Malformed);
        }
        let sequence = u32_le(b, 1)?;
        let session_id = u32_le(b, 5)?;
        let (auth_code, at) = if auth_type == AuthType::None {
            (None, 9)
        } else {
            (Some(array::<16>(b, 9)?), 25)
        };
        let len = byte(b, at)? as usize;
        let payload = b.get(at + 1..at + 1 + len).ok_or(WireError::Truncated)?;
        // Anything after the payload may only be the one legacy pad byte.
        if b.len() > at + 2 + len {
            return Err(WireError::Malformed);
        }
        Ok((
            Repr {
                auth_type,
                sequence,
                session_id,
                auth_code,
            },
            payload,
        ))
    }

    /// Appends the header and `payload` (without a legacy pad: see the module documentation).
    pub fn emit(&self, payload: &[u8], out: &mut Vec<u8>) {
        out.push(self.auth_type as u8);
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&self.session_id.to_le_bytes());
        if self.auth_type != AuthType::None {
            out.extend_from_slice(&self.auth_code.unwrap_or([0; 16]));
        }
        out.push(payload.len() as u8);
        out.extend_from_slice(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_unauthenticated_header() {
        let b = [0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xaa, 0xbb, 0xcc];
        let (r, p) = Repr::parse(&b).unwrap();
        assert_eq!(r.auth_type, AuthType::None);
        assert_eq!(r.auth_code, None);
        assert_eq!(p, &[0xaa, 0xbb, 0xcc]);
        let mut v = Vec::new();
        r.emit(p, &mut v);
        assert_eq!(v, b);
    }

    #[test]
    fn parses_md5_header_with_legacy_pad() {
        let mut b = vec![0x02, 1, 0, 0, 0, 0x78, 0x56, 0x34, 0x12];
        b.extend_from_slice(&[0x11; 16]);
        b.extend_from_slice(&[2, 0xde, 0xad, 0x00]);
        let (r, p) = Repr::parse(&b).unwrap();
        assert_eq!(r.sequence, 1);
        assert_eq!(r.session_id, 0x1234_5678);
        assert_eq!(r.auth_code, Some([0x11; 16]));
        assert_eq!(p, &[0xde, 0xad]);
    }

    #[test]
    fn rejects_truncated_and_rmcp_plus() {
        assert_eq!(
            Repr::parse(&[0x00, 0, 0, 0, 0, 0, 0, 0, 0, 5, 1]).unwrap_err(),
            WireError::Truncated
        );
        assert!(Repr::parse(&[0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(Repr::parse(&[0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn never_adds_a_legacy_pad() {
        let r = Repr {
            auth_type: AuthType::Md5,
            sequence: 0,
            session_id: 0,
            auth_code: Some([0; 16]),
        };
        // After the RMCP header, as datagrams are built: 4 + 26 (header with auth code and
        // length) + 22 (a Get SEL Info response) = 52, and + 26 = 56 bytes.
        for payload in [22, 26] {
            let mut v = vec![0u8; super::super::rmcp::HEADER_LEN];
            r.emit(&vec![0u8; payload], &mut v);
            assert_eq!(v.len(), 4 + 26 + payload);
        }
    }
}
