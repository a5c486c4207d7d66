//! Wire formats of IPMI over LAN. Nothing outside this module reads a datagram by offset.
//!
//! A LAN datagram is an RMCP header ([`rmcp`]) followed by either an ASF message ([`asf`]) or an
//! IPMI session wrapper: IPMI 1.5 ([`ipmi15`]) or IPMI 2.0 / RMCP+ ([`ipmi20`]), whose payload is
//! an IPMI message ([`message`]), an RMCP+ session set-up message ([`rakp`]) or a Serial over LAN
//! packet ([`sol`]).
//!
//! The headers follow smoltcp's `wire`: [`rmcp::Packet`], [`ipmi15::Packet`] and
//! [`ipmi20::Packet`] are checked views (`new_checked` verifies once that every field and the
//! payload lie inside the buffer; the accessors then read the fields at the positions named in
//! each file's `field` ranges), and each `Repr` is the parsed header that `emit` writes back.
//! The RMCP+ view also hands out the part of the packet its integrity code covers. The payloads
//! inside them, ASF presence messages, IPMI messages and the RMCP+ set-up messages, are small and
//! read once, so they have only a `Repr`-like type with `parse` and `emit`.

pub mod asf;
pub mod ipmi15;
pub mod ipmi20;
pub mod message;
pub mod rakp;
pub mod rmcp;
pub mod sol;

/// Why bytes could not be parsed as the expected wire format, or a value not emitted in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The buffer is shorter than the format requires.
    #[error("truncated packet")]
    Truncated,
    /// A field holds a value the format does not allow.
    #[error("malformed packet")]
    Malformed,
    /// A checksum does not match.
    #[error("bad checksum")]
    Checksum,
    /// Emitting: a field is longer than its length field can say.
    #[error("too long for the format")]
    TooLong,
}

/// Result of wire parsing.
pub type Result<T> = core::result::Result<T, WireError>;

pub(crate) fn u32_le(b: &[u8], at: usize) -> Result<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(WireError::Truncated)
}

pub(crate) fn u16_le(b: &[u8], at: usize) -> Result<u16> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or(WireError::Truncated)
}

pub(crate) fn byte(b: &[u8], at: usize) -> Result<u8> {
    b.get(at).copied().ok_or(WireError::Truncated)
}

pub(crate) fn array<const N: usize>(b: &[u8], at: usize) -> Result<[u8; N]> {
    b.get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or(WireError::Truncated)
}
