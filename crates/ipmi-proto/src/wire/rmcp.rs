//! The RMCP header (ASF 2.0 section 3.2.2; IPMI 2.0 section 13.1.3).
//!
//! ```text
//! 0: version (0x06)  1: reserved  2: sequence (0xFF: no ACK)  3: class (bit 7 ACK, bits 3:0 class)
//! ```

use super::{Result, WireError};

/// RMCP version 1.0, the only one in use.
pub const VERSION: u8 = 0x06;
/// The RMCP sequence number that asks for no RMCP ACK; IPMI always uses it.
pub const SEQ_NO_ACK: u8 = 0xff;
/// The length of the RMCP header.
pub const HEADER_LEN: usize = 4;

/// Field positions of the RMCP header.
mod field {
    /// Version (0x06 for RMCP 1.0).
    pub const VERSION: usize = 0;
    /// RMCP sequence number.
    pub const SEQUENCE: usize = 2;
    /// Message class: bit 7 ACK, bits 3:0 the class.
    pub const CLASS: usize = 3;
}

/// The ACK bit of the class byte.
const ACK: u8 = 0x80;

/// The message class in the RMCP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// ASF messages (presence ping/pong).
    Asf,
    /// IPMI messages.
    Ipmi,
    /// OEM-defined.
    Oem,
    /// Any other class.
    Other(u8),
}

impl Class {
    /// Decodes bits 3:0 of the class byte.
    pub fn from_u8(v: u8) -> Class {
        match v & 0x0f {
            0x06 => Class::Asf,
            0x07 => Class::Ipmi,
            0x08 => Class::Oem,
            x => Class::Other(x),
        }
    }
    /// The class code.
    pub fn as_u8(self) -> u8 {
        match self {
            Class::Asf => 0x06,
            Class::Ipmi => 0x07,
            Class::Oem => 0x08,
            Class::Other(x) => x & 0x0f,
        }
    }
}

/// A checked view of an RMCP packet.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer after checking it holds a whole RMCP header of version 1.0.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if b[field::VERSION] != VERSION {
            return Err(WireError::Malformed);
        }
        Ok(Packet { buffer })
    }
    /// The RMCP sequence number.
    pub fn sequence(&self) -> u8 {
        self.buffer.as_ref()[field::SEQUENCE]
    }
    /// The message class.
    pub fn class(&self) -> Class {
        Class::from_u8(self.buffer.as_ref()[field::CLASS])
    }
    /// Whether this is an RMCP ACK message.
    pub fn is_ack(&self) -> bool {
        self.buffer.as_ref()[field::CLASS] & ACK != 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the RMCP header.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

/// A parsed RMCP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    /// The RMCP sequence number.
    pub sequence: u8,
    /// The message class.
    pub class: Class,
}

impl Repr {
    /// Parses the header of a checked packet (ACKs are reported as malformed: IPMI never needs them).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        if packet.is_ack() {
            return Err(WireError::Malformed);
        }
        Ok(Repr {
            sequence: packet.sequence(),
            class: packet.class(),
        })
    }
    /// An IPMI-class header with no ACK requested.
    pub const fn ipmi() -> Repr {
        Repr {
            sequence: SEQ_NO_ACK,
            class: Class::Ipmi,
        }
    }
    /// Appends the 4 header bytes.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[VERSION, 0, self.sequence, self.class.as_u8()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ipmi_header() {
        let p = Packet::new_checked(&[0x06, 0x00, 0xff, 0x07, 0xaa][..]).unwrap();
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r, Repr::ipmi());
        assert_eq!(p.payload(), &[0xaa]);
        let mut v = Vec::new();
        r.emit(&mut v);
        assert_eq!(v, [0x06, 0x00, 0xff, 0x07]);
    }

    #[test]
    fn rejects_short_and_wrong_version() {
        assert_eq!(
            Packet::new_checked(&[0x06, 0, 0xff][..]).unwrap_err(),
            WireError::Truncated
        );
        assert_eq!(
            Packet::new_checked(&[0x05, 0, 0xff, 0x07][..]).unwrap_err(),
            WireError::Malformed
        );
    }

    #[test]
    fn rejects_acks() {
        let p = Packet::new_checked(&[0x06, 0x00, 0x01, 0x86][..]).unwrap();
        assert!(Repr::parse(&p).is_err());
    }
}
