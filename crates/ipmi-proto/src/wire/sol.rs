//! The Serial over LAN payload (payload type 1; IPMI 2.0 section 15.9, table 15-2), carried inside
//! an RMCP+ session packet.
//!
//! ```text
//! 0: packet sequence number (bits 3:0; 0: an ack-only packet that carries no characters)
//! 1: acked/nacked packet sequence number (bits 3:0; 0: no ack, an information-only packet)
//! 2: accepted character count (of the packet being acked)
//! 3: operation (console to BMC) or status (BMC to console), see [`op`] and [`status`]
//! 4..: character data
//! ```

use super::{byte, Result};

/// The length of the SOL header before the character data.
pub const HEADER_LEN: usize = 4;

/// The operation bits of a packet from the remote console to the BMC (byte 3).
pub mod op {
    /// The packet named by the ack field is NACKed: the console cannot take characters now.
    pub const NACK: u8 = 0x40;
    /// Assert the ring indicator / wake on ring.
    pub const RING_WOR: u8 = 0x20;
    /// Generate a break on the serial line (300 ms).
    pub const BREAK: u8 = 0x10;
    /// Deassert CTS (clear to send) to the baseboard: pause its output.
    pub const DEASSERT_CTS: u8 = 0x08;
    /// Deassert DCD/DSR to the baseboard.
    pub const DEASSERT_DCD_DSR: u8 = 0x04;
    /// Flush the characters the BMC holds for the baseboard (inbound).
    pub const FLUSH_INBOUND: u8 = 0x02;
    /// Flush the characters the BMC holds for the console (outbound).
    pub const FLUSH_OUTBOUND: u8 = 0x01;
}

/// The status bits of a packet from the BMC to the remote console (byte 3).
pub mod status {
    /// The packet named by the ack field is NACKed: the BMC cannot take characters now.
    pub const NACK: u8 = 0x40;
    /// Character transfer is unavailable (the serial port is not connected to SOL).
    pub const TRANSFER_UNAVAILABLE: u8 = 0x20;
    /// SOL is being deactivated: this is the last packet of the payload instance.
    pub const DEACTIVATING: u8 = 0x10;
    /// Characters from the baseboard were lost (transmit overrun).
    pub const TRANSMIT_OVERRUN: u8 = 0x08;
    /// A break was detected on the baseboard's serial line.
    pub const BREAK_DETECTED: u8 = 0x04;
}

/// The highest packet sequence number; numbers run 1..=15 and wrap to 1 (0 means "none").
pub const MAX_SEQ: u8 = 15;

/// The packet sequence number after `seq` (1..=15, skipping 0).
pub const fn next_seq(seq: u8) -> u8 {
    if seq >= MAX_SEQ {
        1
    } else {
        seq + 1
    }
}

/// A parsed SOL payload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Repr {
    /// This packet's sequence number (0: carries no characters).
    pub seq: u8,
    /// The sequence number of the packet acked or nacked (0: none).
    pub ack_seq: u8,
    /// How many characters of the acked packet were accepted.
    pub accepted: u8,
    /// The operation (to the BMC) or status (to the console) bits.
    pub flags: u8,
    /// The character data.
    pub data: Vec<u8>,
}

impl Repr {
    /// Parses a SOL payload (decrypted). The reserved high nibbles of the sequence fields are
    /// ignored, as the specification asks.
    pub fn parse(b: &[u8]) -> Result<Repr> {
        let flags = byte(b, 3)?;
        Ok(Repr {
            seq: b[0] & 0x0f,
            ack_seq: b[1] & 0x0f,
            accepted: b[2],
            flags,
            data: b[HEADER_LEN..].to_vec(),
        })
    }

    /// Appends the payload.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[
            self.seq & 0x0f,
            self.ack_seq & 0x0f,
            self.accepted,
            self.flags,
        ]);
        out.extend_from_slice(&self.data);
    }

    /// The payload as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER_LEN + self.data.len());
        self.emit(&mut v);
        v
    }

    /// Whether flag `bit` is set.
    pub fn has(&self, bit: u8) -> bool {
        self.flags & bit != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipmitool_data_packet_and_bmc_ack() {
        // ipmitool typing "ls\r": packet 3, no ack, no operation.
        let p = Repr::parse(&[0x03, 0x00, 0x00, 0x00, b'l', b's', b'\r']).unwrap();
        assert_eq!((p.seq, p.ack_seq, p.accepted, p.flags), (3, 0, 0, 0));
        assert_eq!(p.data, b"ls\r");
        // The BMC's ack of it, all three accepted.
        let ack = Repr {
            ack_seq: 3,
            accepted: 3,
            ..Repr::default()
        };
        assert_eq!(ack.to_bytes(), [0, 3, 3, 0]);
        assert_eq!(Repr::parse(&ack.to_bytes()).unwrap(), ack);
    }

    #[test]
    fn flags_and_reserved_bits() {
        let p = Repr::parse(&[0xf5, 0xf2, 7, op::NACK | op::BREAK]).unwrap();
        assert_eq!((p.seq, p.ack_seq), (5, 2), "reserved high nibbles ignored");
        assert!(p.has(op::NACK) && p.has(op::BREAK) && !p.has(op::FLUSH_INBOUND));
        assert!(p.data.is_empty());
        let last = Repr {
            seq: 9,
            flags: status::DEACTIVATING,
            ..Repr::default()
        };
        assert_eq!(last.to_bytes(), [9, 0, 0, 0x10]);
        assert!(Repr::parse(&[1, 2, 3]).is_err());
    }

    #[test]
    fn sequence_numbers_wrap_without_zero() {
        assert_eq!(next_seq(1), 2);
        assert_eq!(next_seq(15), 1);
        assert_eq!(next_seq(0), 1);
    }
}
