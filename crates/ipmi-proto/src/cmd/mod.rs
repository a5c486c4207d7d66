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
