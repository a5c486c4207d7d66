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
//! [`Packet`] is the checked view with accessors for these fields; [`Repr`] the parsed header,
//! which emits them.

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

/// Field positions of the IPMI 1.5 session header.
mod field {
    use core::ops::Range;

    /// Authentication type (bits 3:0).
    pub const AUTH_TYPE: usize = 0;
    /// Session sequence number, little-endian.
    pub const SEQUENCE: Range<usize> = 1..5;
    /// Session ID, little-endian.
    pub const SESSION_ID: Range<usize> = 5..9;
    /// Authentication code, present unless the auth type is NONE.
    pub const AUTH_CODE: Range<usize> = 9..25;
    /// The payload length byte of a packet without an auth code; with one it is `AUTH_CODE.end`.
    pub const PAYLOAD_LEN_NO_AUTH: usize = 9;
}

/// A checked view of an IPMI 1.5 session packet (the bytes after the RMCP header): the header
/// fields, the auth code when the auth type has one, and a payload that fits in the buffer.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer after checking that it holds a whole IPMI 1.5 session packet: a known auth
    /// type other than RMCP+ (else [`WireError::Malformed`]), the header and the payload its
    /// length byte announces (else [`WireError::Truncated`]), and after the payload at most the
    /// one legacy pad byte (else [`WireError::Malformed`]).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        let auth_type =
            AuthType::from_u8(byte(b, field::AUTH_TYPE)?).ok_or(WireError::Malformed)?;
        if auth_type == AuthType::RmcpPlus {
            return Err(WireError::Malformed);
        }
        if b.len() < field::SESSION_ID.end {
            return Err(WireError::Truncated);
        }
        let len_at = Self::payload_len_at(auth_type);
        let len = byte(b, len_at)? as usize;
        let end = len_at + 1 + len;
        if b.len() < end {
            return Err(WireError::Truncated);
        }
        // Anything after the payload may only be the one legacy pad byte.
        if b.len() > end + 1 {
            return Err(WireError::Malformed);
        }
        Ok(Packet { buffer })
    }

    /// Where the payload length byte is for this auth type.
    fn payload_len_at(auth_type: AuthType) -> usize {
        if auth_type == AuthType::None {
            field::PAYLOAD_LEN_NO_AUTH
        } else {
            field::AUTH_CODE.end
        }
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The authentication type.
    pub fn auth_type(&self) -> AuthType {
        AuthType::from_u8(self.bytes()[field::AUTH_TYPE]).unwrap_or(AuthType::None)
    }

    /// The session sequence number (0 outside a session).
    pub fn sequence(&self) -> u32 {
        u32_le(self.bytes(), field::SEQUENCE.start).unwrap_or(0)
    }

    /// The session ID (0 outside a session).
    pub fn session_id(&self) -> u32 {
        u32_le(self.bytes(), field::SESSION_ID.start).unwrap_or(0)
    }

    /// The authentication code, present unless the auth type is NONE.
    pub fn auth_code(&self) -> Option<[u8; 16]> {
        if self.auth_type() == AuthType::None {
            return None;
        }
        array::<16>(self.bytes(), field::AUTH_CODE.start).ok()
    }

    /// The payload length.
    pub fn payload_len(&self) -> u8 {
        self.bytes()[Self::payload_len_at(self.auth_type())]
    }

    fn payload_range(&self) -> core::ops::Range<usize> {
        let start = Self::payload_len_at(self.auth_type()) + 1;
        start..start + self.payload_len() as usize
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload: the IPMI message, which the auth code (if any) covers.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.payload_range()]
    }
}

/// The longest payload (IPMI message) the one-byte payload length can announce.
pub const MAX_PAYLOAD: usize = 255;

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
    /// The header of a checked packet.
    pub fn from_packet<T: AsRef<[u8]>>(packet: &Packet<T>) -> Repr {
        Repr {
            auth_type: packet.auth_type(),
            sequence: packet.sequence(),
            session_id: packet.session_id(),
            auth_code: packet.auth_code(),
        }
    }

    /// Checks `b` as a [`Packet`] and returns its header with the payload (the IPMI message).
    pub fn parse(b: &[u8]) -> Result<(Repr, &[u8])> {
        let packet = Packet::new_checked(b)?;
        Ok((Repr::from_packet(&packet), packet.payload()))
    }

    /// Appends the header and `payload` (without a legacy pad: see the module documentation).
    /// A payload longer than [`MAX_PAYLOAD`] is [`WireError::TooLong`], and nothing is appended:
    /// its length does not fit in the length byte.
    pub fn emit(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let len = u8::try_from(payload.len()).map_err(|_| WireError::TooLong)?;
        out.push(self.auth_type as u8);
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&self.session_id.to_le_bytes());
        if self.auth_type != AuthType::None {
            out.extend_from_slice(&self.auth_code.unwrap_or([0; 16]));
        }
        out.push(len);
        out.extend_from_slice(payload);
        Ok(())
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
        r.emit(p, &mut v).unwrap();
        assert_eq!(v, b);
    }

    #[test]
    fn a_payload_past_255_bytes_is_not_emitted() {
        let r = Repr {
            auth_type: AuthType::None,
            sequence: 0,
            session_id: 0,
            auth_code: None,
        };
        let mut v = vec![0xee];
        r.emit(&[1; MAX_PAYLOAD], &mut v).unwrap();
        assert_eq!(Repr::parse(&v[1..]).unwrap().1, [1; MAX_PAYLOAD]);
        let mut v = vec![0xee];
        assert_eq!(
            r.emit(&[1; MAX_PAYLOAD + 1], &mut v),
            Err(WireError::TooLong)
        );
        assert_eq!(v, [0xee], "nothing appended");
    }

    #[test]
    fn parses_md5_header_with_legacy_pad() {
        let mut b = vec![0x02, 1, 0, 0, 0, 0x78, 0x56, 0x34, 0x12];
        b.extend_from_slice(&[0x11; 16]);
        b.extend_from_slice(&[2, 0xde, 0xad, 0x00]);
        let packet = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(packet.auth_type(), AuthType::Md5);
        assert_eq!(packet.sequence(), 1);
        assert_eq!(packet.session_id(), 0x1234_5678);
        assert_eq!(packet.auth_code(), Some([0x11; 16]));
        assert_eq!(packet.payload_len(), 2);
        assert_eq!(packet.payload(), &[0xde, 0xad]);
        let (r, p) = Repr::parse(&b).unwrap();
        assert_eq!(r, Repr::from_packet(&packet));
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
        assert_eq!(
            Packet::new_checked(&[0x00, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa, 0, 0][..]).unwrap_err(),
            WireError::Malformed,
            "more than one pad byte"
        );
        assert!(Repr::parse(&[0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn checked_views_read_without_panicking(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            if let Ok(p) = Packet::new_checked(&b[..]) {
                let _ = (Repr::from_packet(&p), p.payload(), p.payload_len());
            }
        }
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
            r.emit(&vec![0u8; payload], &mut v).unwrap();
            assert_eq!(v.len(), 4 + 26 + payload);
        }
    }
}
