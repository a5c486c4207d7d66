//! The IPMI 2.0 / RMCP+ session wrapper (IPMI 2.0 section 13.6, table 13-8).
//!
//! ```text
//! 0: auth type (0x06)  1: payload type (bit 7 encrypted, bit 6 authenticated, bits 5:0 type)
//! [2..8: OEM IANA (4) and OEM payload ID (2), only for payload type 0x02]
//! then: session ID (4, LE), session sequence (4, LE), payload length (2, LE), payload
//! [if authenticated: integrity pad (0xFF..) so that auth type..next header is a multiple of 4,
//!  pad length (1), next header (0x07), auth code]
//! ```
//! [`Packet`] is the checked view with accessors for these fields (and the part of the packet the
//! auth code covers); [`Repr`] the parsed header, which emits them.

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

/// Field positions of the RMCP+ session header.
mod field {
    use core::ops::Range;

    /// Authentication type: always 0x06 (RMCP+).
    pub const AUTH_TYPE: usize = 0;
    /// Payload type: bit 7 encrypted, bit 6 authenticated, bits 5:0 the type.
    pub const PAYLOAD_TYPE: usize = 1;
    /// OEM IANA, little-endian (payload type 0x02 only).
    pub const OEM_IANA: Range<usize> = 2..6;
    /// OEM payload ID, little-endian (payload type 0x02 only).
    pub const OEM_PAYLOAD_ID: Range<usize> = 6..8;
    /// Session ID, little-endian, when there are no OEM fields.
    pub const SESSION_ID: Range<usize> = 2..6;
    /// Session sequence number, little-endian, when there are no OEM fields.
    pub const SEQUENCE: Range<usize> = 6..10;
    /// Payload length, little-endian, when there are no OEM fields.
    pub const PAYLOAD_LEN: Range<usize> = 10..12;
    /// How far the OEM fields move the session ID, sequence number and payload length.
    pub const OEM_SHIFT: usize = OEM_PAYLOAD_ID.end - OEM_IANA.start;
}

const ENCRYPTED: u8 = 0x80;
const AUTHENTICATED: u8 = 0x40;
const PAYLOAD_TYPE_MASK: u8 = 0x3f;

/// Whether an IPMI-class RMCP payload is an RMCP+ packet (auth type 0x06) rather than an IPMI 1.5
/// one; `None` when it is empty.
pub fn is_rmcp_plus(b: &[u8]) -> Option<bool> {
    b.first().map(|t| *t == AUTH_TYPE_RMCP_PLUS)
}

/// A checked view of an RMCP+ session packet (the bytes after the RMCP header): the header, a
/// payload that fits in the buffer, and whatever follows it (the session trailer).
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer after checking that its auth type is RMCP+ (else [`WireError::Malformed`])
    /// and that it holds the header and the payload its length announces (else
    /// [`WireError::Truncated`]).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if byte(b, field::AUTH_TYPE)? != AUTH_TYPE_RMCP_PLUS {
            return Err(WireError::Malformed);
        }
        let shift = Self::shift_for(byte(b, field::PAYLOAD_TYPE)?);
        let len = u16_le(b, field::PAYLOAD_LEN.start + shift)? as usize;
        if b.len() < field::PAYLOAD_LEN.end + shift + len {
            return Err(WireError::Truncated);
        }
        Ok(Packet { buffer })
    }

    /// How far the OEM fields (present for OEM payloads) move the rest of the header.
    fn shift_for(payload_type: u8) -> usize {
        if PayloadType(payload_type & PAYLOAD_TYPE_MASK) == PayloadType::OEM {
            field::OEM_SHIFT
        } else {
            0
        }
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn shift(&self) -> usize {
        Self::shift_for(self.bytes()[field::PAYLOAD_TYPE])
    }

    fn u32_at(&self, at: usize) -> u32 {
        u32_le(self.bytes(), at).unwrap_or(0)
    }

    /// The payload type.
    pub fn payload_type(&self) -> PayloadType {
        PayloadType(self.bytes()[field::PAYLOAD_TYPE] & PAYLOAD_TYPE_MASK)
    }

    /// Whether the payload is encrypted.
    pub fn encrypted(&self) -> bool {
        self.bytes()[field::PAYLOAD_TYPE] & ENCRYPTED != 0
    }

    /// Whether the packet carries a session trailer with an auth code.
    pub fn authenticated(&self) -> bool {
        self.bytes()[field::PAYLOAD_TYPE] & AUTHENTICATED != 0
    }

    /// The OEM IANA and payload ID, for OEM payloads.
    pub fn oem(&self) -> Option<(u32, u16)> {
        (self.payload_type() == PayloadType::OEM).then(|| {
            (
                self.u32_at(field::OEM_IANA.start),
                u16_le(self.bytes(), field::OEM_PAYLOAD_ID.start).unwrap_or(0),
            )
        })
    }

    /// The session ID (the receiver's ID for the session; 0 outside a session).
    pub fn session_id(&self) -> u32 {
        self.u32_at(field::SESSION_ID.start + self.shift())
    }

    /// The session sequence number.
    pub fn sequence(&self) -> u32 {
        self.u32_at(field::SEQUENCE.start + self.shift())
    }

    /// The payload length.
    pub fn payload_len(&self) -> u16 {
        u16_le(self.bytes(), field::PAYLOAD_LEN.start + self.shift()).unwrap_or(0)
    }

    /// The length of the session header, where the payload starts.
    pub fn header_len(&self) -> usize {
        field::PAYLOAD_LEN.end + self.shift()
    }

    fn payload_end(&self) -> usize {
        self.header_len() + self.payload_len() as usize
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload (still encrypted if [`encrypted`](Packet::encrypted)).
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.header_len()..self.payload_end()]
    }

    /// Everything after the payload: the session trailer of an authenticated packet.
    pub fn trailer(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.payload_end()..]
    }

    /// Splits the session trailer of an authenticated packet whose auth code is `code_len` bytes
    /// long: the bytes the code covers (from the auth type through the next header byte) and the
    /// code itself.
    pub fn integrity_fields(&self, code_len: usize) -> Result<(&'a [u8], &'a [u8])> {
        let (covered, code) = split_trailer(self.trailer(), code_len)?;
        Ok((&self.buffer.as_ref()[..self.payload_end() + covered], code))
    }
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
    /// The header of a checked packet.
    pub fn from_packet<T: AsRef<[u8]>>(packet: &Packet<T>) -> Repr {
        Repr {
            payload_type: packet.payload_type(),
            encrypted: packet.encrypted(),
            authenticated: packet.authenticated(),
            oem: packet.oem(),
            session_id: packet.session_id(),
            sequence: packet.sequence(),
        }
    }

    /// Checks `b` as a [`Packet`] and returns its header, payload and trailer.
    pub fn parse(b: &[u8]) -> Result<Parsed<'_>> {
        let packet = Packet::new_checked(b)?;
        Ok(Parsed {
            header: Repr::from_packet(&packet),
            payload: packet.payload(),
            trailer: packet.trailer(),
            payload_offset: packet.header_len(),
        })
    }

    /// Appends the header for a payload of `payload_len` bytes.
    pub fn emit(&self, payload_len: usize, out: &mut Vec<u8>) {
        out.push(AUTH_TYPE_RMCP_PLUS);
        let mut pt = self.payload_type.0 & PAYLOAD_TYPE_MASK;
        if self.encrypted {
            pt |= ENCRYPTED;
        }
        if self.authenticated {
            pt |= AUTHENTICATED;
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
    emit_trailer_pad_after(packet, 0);
}

/// [`emit_trailer_pad`] for a packet built in `out` from offset `start` on (after the RMCP
/// header, say), so that a datagram is built in one buffer.
pub fn emit_trailer_pad_after(out: &mut Vec<u8>, start: usize) {
    let pad = (4 - (out.len() - start + 2) % 4) % 4;
    out.extend(std::iter::repeat_n(0xff, pad));
    out.push(pad as u8);
    out.push(NEXT_HEADER);
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
    fn packet_view_reads_header_fields_and_integrity_part() {
        let r = Repr {
            payload_type: PayloadType::IPMI,
            encrypted: true,
            authenticated: true,
            oem: None,
            session_id: 0x0403_0201,
            sequence: 0x0807_0605,
        };
        let mut v = Vec::new();
        r.emit(3, &mut v);
        v.extend_from_slice(&[0xa, 0xb, 0xc]);
        emit_trailer_pad(&mut v);
        let covered = v.len();
        v.extend_from_slice(&[0xcc; 12]);
        let p = Packet::new_checked(&v[..]).unwrap();
        assert_eq!(
            (p.session_id(), p.sequence(), p.payload_len()),
            (0x0403_0201, 0x0807_0605, 3)
        );
        assert!(p.encrypted() && p.authenticated());
        assert_eq!(p.header_len(), 12);
        assert_eq!(p.payload(), &[0xa, 0xb, 0xc]);
        let (signed, code) = p.integrity_fields(12).unwrap();
        assert_eq!(signed, &v[..covered]);
        assert_eq!(code, &[0xcc; 12]);
        assert_eq!(Repr::from_packet(&p), r);
        assert_eq!(is_rmcp_plus(&v), Some(true));
        assert_eq!(is_rmcp_plus(&[0x02]), Some(false));
        assert_eq!(is_rmcp_plus(&[]), None);
    }

    #[test]
    fn oem_fields_move_the_header() {
        let r = Repr {
            payload_type: PayloadType::OEM,
            encrypted: false,
            authenticated: false,
            oem: Some((0x00_1234, 0x0506)),
            session_id: 9,
            sequence: 10,
        };
        let mut v = Vec::new();
        r.emit(1, &mut v);
        v.push(0xee);
        let p = Packet::new_checked(&v[..]).unwrap();
        assert_eq!(p.header_len(), 18);
        assert_eq!(Repr::from_packet(&p), r);
        assert_eq!(p.payload(), &[0xee]);
        assert_eq!(
            Packet::new_checked(&v[..v.len() - 1]).unwrap_err(),
            WireError::Truncated
        );
    }

    proptest::proptest! {
        #[test]
        fn checked_views_read_without_panicking(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            if let Ok(p) = Packet::new_checked(&b[..]) {
                let _ = (Repr::from_packet(&p), p.payload(), p.trailer(), p.integrity_fields(12));
            }
        }
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
