//! ASF presence ping and pong (ASF 2.0 section 3.2.4; IPMI 2.0 section 13.2.3), used by clients
//! to discover that a BMC answers on RMCP.
//!
//! ```text
//! 0..4: IANA enterprise number 4542 (0x000011BE, big-endian)  4: message type  5: message tag
//! 6: reserved  7: data length  8..: data
//! ```

use super::{array, byte, Result, WireError};

/// The ASF IANA enterprise number, 4542.
pub const ASF_IANA: u32 = 4542;
/// Message type of a Presence Ping.
pub const TYPE_PING: u8 = 0x80;
/// Message type of a Presence Pong.
pub const TYPE_PONG: u8 = 0x40;

/// A parsed ASF message header and its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repr {
    /// The message type (ping 0x80, pong 0x40).
    pub message_type: u8,
    /// The message tag that the pong echoes.
    pub tag: u8,
    /// The message data.
    pub data: Vec<u8>,
}

impl Repr {
    /// Parses an ASF message (the bytes after the RMCP header).
    pub fn parse(b: &[u8]) -> Result<Repr> {
        let iana = u32::from_be_bytes(array(b, 0)?);
        if iana != ASF_IANA {
            return Err(WireError::Malformed);
        }
        let len = byte(b, 7)? as usize;
        let data = b.get(8..8 + len).ok_or(WireError::Truncated)?.to_vec();
        Ok(Repr {
            message_type: byte(b, 4)?,
            tag: byte(b, 5)?,
            data,
        })
    }

    /// The Presence Pong answering a ping with `tag`: IPMI supported, ASF 1.0 entities, no OEM.
    pub fn pong(tag: u8) -> Repr {
        let mut data = Vec::with_capacity(16);
        data.extend_from_slice(&ASF_IANA.to_be_bytes()); // IANA of the OEM-defined part: none
        data.extend_from_slice(&[0, 0, 0, 0]); // OEM-defined
        data.push(0x81); // supported entities: IPMI supported, ASF version 1.0
        data.push(0x00); // supported interactions: no RMCP security extensions
        data.extend_from_slice(&[0; 6]);
        Repr {
            message_type: TYPE_PONG,
            tag,
            data,
        }
    }

    /// A Presence Ping with `tag`.
    pub fn ping(tag: u8) -> Repr {
        Repr {
            message_type: TYPE_PING,
            tag,
            data: Vec::new(),
        }
    }

    /// Appends the encoded message.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&ASF_IANA.to_be_bytes());
        out.extend_from_slice(&[self.message_type, self.tag, 0, self.data.len() as u8]);
        out.extend_from_slice(&self.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_round_trip_and_pong() {
        let ping = [0x00, 0x00, 0x11, 0xbe, 0x80, 0x2a, 0x00, 0x00];
        let r = Repr::parse(&ping).unwrap();
        assert_eq!(r, Repr::ping(0x2a));
        let mut v = Vec::new();
        Repr::pong(r.tag).emit(&mut v);
        assert_eq!(&v[..8], &[0x00, 0x00, 0x11, 0xbe, 0x40, 0x2a, 0x00, 0x10]);
        assert_eq!(v.len(), 24);
        assert_eq!(v[16], 0x81);
    }

    #[test]
    fn rejects_other_iana_and_truncation() {
        assert!(Repr::parse(&[0, 0, 0x11, 0xbf, 0x80, 0, 0, 0]).is_err());
        assert!(Repr::parse(&[0, 0, 0x11, 0xbe, 0x80, 0, 0, 4, 1]).is_err());
    }
}
