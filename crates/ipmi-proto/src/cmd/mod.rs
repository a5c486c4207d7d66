//! Typed IPMI commands, one file per command, grouped by network function.
//!
//! Each command file defines a unit type implementing [`Command`] with its `Request` and `Response`
//! bodies. A request body is the data after the command byte; a response body is the data after the
//! completion code (a response whose completion code is not 0 carries no body). Both directions are
//! parsed and emitted so that the same types serve a BMC and a client.

pub mod app;
pub mod chassis;
pub mod dcmi;
pub mod sensor;
pub mod storage;
pub mod transport;

use crate::types::{NetFn, ParseError, Privilege};

/// Declares a command's unit type and its [`Command`] implementation.
macro_rules! command {
    ($(#[$m:meta])* $name:ident, $title:literal, $section:literal, $netfn:expr, $cmd:expr,
     $privilege:expr, $req:ty, $resp:ty) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name;

        impl $crate::cmd::Command for $name {
            const NETFN: $crate::types::NetFn = $netfn;
            const CMD: u8 = $cmd;
            const NAME: &'static str = $title;
            const SECTION: &'static str = $section;
            const PRIVILEGE: Option<$crate::types::Privilege> = $privilege;
            type Request = $req;
            type Response = $resp;
        }
    };
}
pub(crate) use command;

/// A request or response body that can be decoded from and encoded to bytes.
pub trait Body: Sized {
    /// Decodes a body. Extra trailing bytes are an error unless the command tolerates them.
    fn parse(data: &[u8]) -> Result<Self, ParseError>;
    /// Appends the encoded body to `out`.
    fn emit(&self, out: &mut Vec<u8>);
    /// Encodes the body into a new vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.emit(&mut v);
        v
    }
}

/// An IPMI command: its network function, command code, the privilege level the spec requires
/// (IPMI 2.0 appendix G), and its request and response bodies.
pub trait Command {
    /// The request NetFn.
    const NETFN: NetFn;
    /// The command code.
    const CMD: u8;
    /// The command's name as the specification writes it ("Chassis Control").
    const NAME: &'static str;
    /// The section of the IPMI 2.0 specification (rev. 1.1) that defines it ("28.3").
    const SECTION: &'static str;
    /// The minimum session privilege the specification requires; `None` means the command is allowed
    /// outside a session (unauthenticated).
    const PRIVILEGE: Option<Privilege>;
    /// The request body.
    type Request: Body;
    /// The response body (after the completion code).
    type Response: Body;
}

/// A body with no bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Empty;

impl Body for Empty {
    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        if data.is_empty() {
            Ok(Empty)
        } else {
            Err(ParseError::Length)
        }
    }
    fn emit(&self, _out: &mut Vec<u8>) {}
}

/// Reads a fixed-size array from the start of `data`.
pub(crate) fn take<const N: usize>(data: &[u8], at: usize) -> Result<[u8; N], ParseError> {
    data.get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or(ParseError::Length)
}

/// A body of a single byte.
impl Body for u8 {
    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        expect_len(data, 1, 1)?;
        Ok(data[0])
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
}

/// A body of a 16-bit value, least significant byte first (record and reservation IDs).
impl Body for u16 {
    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        expect_len(data, 2, 2)?;
        Ok(u16::from_le_bytes(take(data, 0)?))
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// A body of a 32-bit value, least significant byte first (timestamps: seconds since
/// 1970-01-01 UTC, IPMI 2.0 section 37).
impl Body for u32 {
    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        expect_len(data, 4, 4)?;
        Ok(u32::from_le_bytes(take(data, 0)?))
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// A GUID body (16 bytes, as sent on the wire).
impl Body for [u8; 16] {
    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        expect_len(data, 16, 16)?;
        take(data, 0)
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

/// Fails with [`ParseError::Length`] unless `data.len()` is within `min..=max`.
pub(crate) fn expect_len(data: &[u8], min: usize, max: usize) -> Result<(), ParseError> {
    if (min..=max).contains(&data.len()) {
        Ok(())
    } else {
        Err(ParseError::Length)
    }
}

/// Checks for the round-trip tests of the command files.
#[cfg(test)]
pub(crate) mod test_util {
    use super::Body;
    use core::fmt::Debug;

    /// Asserts that `body` parses back from its own bytes.
    pub(crate) fn round_trip<B: Body + PartialEq + Debug>(body: &B) {
        let bytes = body.to_bytes();
        assert_eq!(
            &B::parse(&bytes).expect("parses its own bytes"),
            body,
            "{bytes:02x?}"
        );
    }

    /// Parses bytes a real client or BMC sent, asserts that emitting the result gives the same
    /// bytes, and returns it.
    pub(crate) fn captured<B: Body + Debug>(bytes: &[u8]) -> B {
        let body = B::parse(bytes).unwrap_or_else(|e| panic!("{bytes:02x?}: {e}"));
        assert_eq!(body.to_bytes(), bytes, "{body:?}");
        body
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::{captured, round_trip};
    use super::*;

    #[test]
    fn shared_bodies() {
        let _: Empty = captured(&[]);
        assert_eq!(Empty::parse(&[1]), Err(ParseError::Length));
        assert_eq!(captured::<u8>(&[7]), 7);
        assert_eq!(u8::parse(&[1, 2]), Err(ParseError::Length));
        round_trip(&[9u8; 16]);
        assert_eq!(<[u8; 16]>::parse(&[0; 15]), Err(ParseError::Length));
        assert_eq!(take::<2>(&[1, 2, 3], 1), Ok([2, 3]));
        assert_eq!(take::<2>(&[1, 2, 3], 2), Err(ParseError::Length));
        assert_eq!(expect_len(&[0; 3], 2, 3), Ok(()));
        assert_eq!(expect_len(&[0; 4], 2, 3), Err(ParseError::Length));
    }
}
