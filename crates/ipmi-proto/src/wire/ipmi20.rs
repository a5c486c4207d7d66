//! The IPMI 2.0 / RMCP+ session wrapper (IPMI 2.0 section 13.6, table 13-8).
//!
//! ```text
//! 0: auth type (0x06)  1: payload type (bit 7 encrypted, bit 6 authenticated, bits 5:0 type)
//! [2..8: OEM IANA (4) and OEM payload ID (2), only for payload type 0x02]
//! then: session ID (4, LE), session sequence (4, LE), payload length (2, LE), payload
//! [if authenticated: integrity pad (0xFF..) so that auth type..next header is a multiple of 4,
//!  pad length (1), next header (0x07), auth code]
//! ```

use super::{byte, u16_le, u32_le, Result, WireError};

/// The auth type byte that marks an RMCP+ packet.
pub const AUTH_TYPE_RMCP_PLUS: u8 = 0x06;
/// The "next header" byte of the session trailer.
pub const NEXT_HEADER: u8 = 0x07;

/// RMCP+ payload types (IPMI 2.0 section 13.27.3, table 13-16).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PayloadType(pub u8);

impl PayloadType {
    /// An IPMI message.
    pub const IPMI: PayloadType = PayloadType(0x00);
    /// Serial over LAN.
    pub const SOL: PayloadType = PayloadType(0x01);
    /// OEM explicit (carries an IANA and payload ID).
    pub const OEM: PayloadType = PayloadType(0x02);
    /// RMCP+ Open Session Request.
    pub const OPEN_SESSION_REQUEST: PayloadType = PayloadType(0x10);
    /// RMCP+ Open Session Response.
    pub const OPEN_SESSION_RESPONSE: PayloadType = PayloadType(0x11);
    /// RAKP Message 1.
    pub const RAKP1: PayloadType = PayloadType(0x12);
    /// RAKP Message 2.
    pub const RAKP2: PayloadType = PayloadType(0x13);
    /// RAKP Message 3.
    pub const RAKP3: PayloadType = PayloadType(0x14);
    /// RAKP Message 4.
    pub const RAKP4: PayloadType = PayloadType(0x15);
}

/// A parsed RMCP+ session header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    /// The payload type.
    pub payload_type: PayloadType,
    /// Whether the payload is encrypted.
    pub encrypted: bool,
    /// Whether the packet carries a session trailer with an auth code.
    pub authenticated: bool,
    /// OEM IANA and payload ID, for payload type 0x02.
    pub oem: Option<(u32, u16)>,
    /// The session ID (the receiver's ID for the session; 0 outside a session).
    pub session_id: u32,
    /// The session sequence number.
    pub sequence: u32,
}

/// A parsed RMCP+ packet: header, payload, and what follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed<'a> {
    /// The header.
    pub header: Repr,
    /// The payload bytes (still encrypted if `header.encrypted`).
    pub payload: &'a [u8],
    /// Everything after the payload (the session trailer, if authenticated).
    pub trailer: &'a [u8],
    /// The offset of the payload in the packet.
    pub payload_offset: usize,
}

impl Repr {
    /// Parses an RMCP+ packet (the bytes after the RMCP header).
    pub fn parse(b: &[u8]) -> Result<Parsed<'_>> {
        if byte(b, 0)? != AUTH_TYPE_RMCP_PLUS {
            return Err(WireError::Malformed);
        }
        let pt = byte(b, 1)?;
        let payload_type = PayloadType(pt & 0x3f);
        let (oem, at) = if payload_type == PayloadType::OEM {
            (Some((u32_le(b, 2)?, u16_le(b, 6)?)), 8)
        } else {
            (None, 2)
        };
        let session_id = u32_le(b, at)?;
        let sequence = u32_le(b, at + 4)?;
        let len = u16_le(b, at + 8)? as usize;
        let payload_offset = at + 10;
        let payload = b
            .get(payload_offset..payload_offset + len)
            .ok_or(WireError::Truncated)?;
        let header = Repr {
            payload_type,
            encrypted: pt & 0x80 != 0,
            authenticated: pt & 0x40 != 0,
            oem,
            session_id,
            sequence,
        };
        Ok(Parsed {
            header,
            payload,
            trailer: &b[payload_offset + len..],
            payload_offset,
        })
    }

    /// Appends the header for a payload of `payload_len` bytes.
    pub fn emit(&self, payload_len: usize, out: &mut Vec<u8>) {
        out.push(AUTH_TYPE_RMCP_PLUS);
        let mut pt = self.payload_type.0 & 0x3f;
        if self.encrypted {
            pt |= 0x80;
        }
        if self.authenticated {
            pt |= 0x40;
        }
        out.push(pt);
        if let Some((iana, id)) = self.oem {
            out.extend_from_slice(&iana.to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
        }
        out.extend_from_slice(&self.session_id.to_le_bytes());
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&(payload_len as u16).to_le_bytes());
    }
}

/// Appends the integrity pad, pad length and next header to a packet being built (`packet` holds
/// the session header onwards, without the RMCP header). The auth code is appended by the caller.
pub fn emit_trailer_pad(packet: &mut Vec<u8>) {
    let pad = (4 - (packet.len() + 2) % 4) % 4;
    packet.extend(std::iter::repeat_n(0xff, pad));
    packet.push(pad as u8);
    packet.push(NEXT_HEADER);
}

/// Splits a session trailer of an authenticated packet into the part the auth code covers (its
/// length, counted from the start of `trailer`) and the auth code of `code_len` bytes.
pub fn split_trailer(trailer: &[u8], code_len: usize) -> Result<(usize, &[u8])> {
    if trailer.len() < code_len + 2 {
        return Err(WireError::Truncated);
    }
    let covered = trailer.len() - code_len;
    let pad_len = trailer[covered - 2] as usize;
    if trailer[covered - 1] != NEXT_HEADER || pad_len > 3 || pad_len + 2 != covered {
        return Err(WireError::Malformed);
    }
    Ok((covered, &trailer[covered..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_open_session_header() {
        let r = Repr {
            payload_type: PayloadType::OPEN_SESSION_REQUEST,
            encrypted: false,
            authenticated: false,
            oem: None,
            session_id: 0,
            sequence: 0,
        };
        let mut v = Vec::new();
        r.emit(3, &mut v);
        v.extend_from_slice(&[1, 2, 3]);
        assert_eq!(&v[..4], &[0x06, 0x10, 0, 0]);
        let p = Repr::parse(&v).unwrap();
        assert_eq!(p.header, r);
        assert_eq!(p.payload, &[1, 2, 3]);
        assert!(p.trailer.is_empty());
    }

    #[test]
    fn trailer_pads_to_multiple_of_four() {
        for extra in 0..8 {
            let mut v = vec![0u8; 12 + extra];
            emit_trailer_pad(&mut v);
            assert_eq!(v.len() % 4, 0);
            v.extend_from_slice(&[0xaa; 12]);
            let trailer_start = 12 + extra;
            let (covered, code) = split_trailer(&v[trailer_start..], 12).unwrap();
            assert_eq!(trailer_start + covered, v.len() - 12);
            assert_eq!(code, &[0xaa; 12]);
        }
    }

    #[test]
    fn rejects_bad_trailer_and_truncation() {
        assert!(split_trailer(&[0xff, 0x01, 0x06, 1, 2], 2).is_err());
        assert!(split_trailer(&[0x07], 0).is_err());
        assert!(Repr::parse(&[0x06, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 1]).is_err());
    }
}
