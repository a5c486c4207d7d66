//! Basic IPMI value types shared by every layer: network functions, privilege levels and completion codes.

use core::fmt;

/// A network function code (IPMI 2.0 section 5.1, table 5-1). Requests use even codes;
/// the response to NetFn `n` is `n | 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NetFn(pub u8);

impl NetFn {
    /// Chassis requests (0x00).
    pub const CHASSIS: NetFn = NetFn(0x00);
    /// Bridge requests (0x02).
    pub const BRIDGE: NetFn = NetFn(0x02);
    /// Sensor/Event requests (0x04).
    pub const SENSOR_EVENT: NetFn = NetFn(0x04);
    /// Application requests (0x06).
    pub const APP: NetFn = NetFn(0x06);
    /// Firmware requests (0x08).
    pub const FIRMWARE: NetFn = NetFn(0x08);
    /// Storage requests (0x0A): FRU, SDR, SEL.
    pub const STORAGE: NetFn = NetFn(0x0A);
    /// Transport requests (0x0C): LAN and serial configuration, SOL.
    pub const TRANSPORT: NetFn = NetFn(0x0C);
    /// Group extension (0x2C), e.g. DCMI; ipmitool probes it after login.
    pub const GROUP_EXTENSION: NetFn = NetFn(0x2C);

    /// The response NetFn for this request NetFn.
    pub const fn response(self) -> NetFn {
        NetFn(self.0 | 1)
    }

    /// Whether this is a response NetFn (odd code).
    pub const fn is_response(self) -> bool {
        self.0 & 1 == 1
    }
}

/// A privilege level (IPMI 2.0 section 6.8). Ordered: `Callback < User < Operator < Administrator < Oem`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Privilege {
    /// Callback (1): may only be called back.
    Callback = 1,
    /// User (2): read-only, "benign" commands.
    User = 2,
    /// Operator (3): all commands but configuration changes.
    Operator = 3,
    /// Administrator (4): everything.
    Administrator = 4,
    /// OEM proprietary (5): treated as above Administrator.
    Oem = 5,
}

impl Privilege {
    /// Decodes the low nibble of a privilege byte (0 and 6..15 are not privilege levels).
    pub fn from_u8(v: u8) -> Option<Privilege> {
        match v & 0x0f {
            1 => Some(Privilege::Callback),
            2 => Some(Privilege::User),
            3 => Some(Privilege::Operator),
            4 => Some(Privilege::Administrator),
            5 => Some(Privilege::Oem),
            _ => None,
        }
    }

    /// The wire value.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The lower-case name used in configuration files and logs.
    pub const fn name(self) -> &'static str {
        match self {
            Privilege::Callback => "callback",
            Privilege::User => "user",
            Privilege::Operator => "operator",
            Privilege::Administrator => "administrator",
            Privilege::Oem => "oem",
        }
    }

    /// Parses a configuration name (`callback`, `user`, `operator`, `administrator`/`admin`).
    pub fn from_name(s: &str) -> Option<Privilege> {
        match s.to_ascii_lowercase().as_str() {
            "callback" => Some(Privilege::Callback),
            "user" => Some(Privilege::User),
            "operator" => Some(Privilege::Operator),
            "administrator" | "admin" => Some(Privilege::Administrator),
            "oem" => Some(Privilege::Oem),
            _ => None,
        }
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A completion code (IPMI 2.0 section 5.2, table 5-2). Command-specific codes 0x80..0xBE
/// are defined by each command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CompletionCode(pub u8);

impl CompletionCode {
    /// Command completed normally.
    pub const OK: Self = Self(0x00);
    /// Node busy: the command could not be processed because resources are in use (0xC0).
    pub const NODE_BUSY: Self = Self(0xC0);
    /// Invalid or unsupported command (0xC1).
    pub const INVALID_COMMAND: Self = Self(0xC1);
    /// Command invalid for the given LUN (0xC2).
    pub const INVALID_FOR_LUN: Self = Self(0xC2);
    /// Timeout while processing the command (0xC3).
    pub const TIMEOUT: Self = Self(0xC3);
    /// Out of space (0xC4).
    pub const OUT_OF_SPACE: Self = Self(0xC4);
    /// Reservation cancelled or invalid reservation ID (0xC5).
    pub const INVALID_RESERVATION: Self = Self(0xC5);
    /// Request data truncated (0xC6).
    pub const REQUEST_TRUNCATED: Self = Self(0xC6);
    /// Request data length invalid (0xC7).
    pub const INVALID_LENGTH: Self = Self(0xC7);
    /// Request data field length limit exceeded (0xC8).
    pub const LENGTH_EXCEEDED: Self = Self(0xC8);
    /// Parameter out of range (0xC9).
    pub const OUT_OF_RANGE: Self = Self(0xC9);
    /// Cannot return the number of requested data bytes (0xCA).
    pub const CANNOT_RETURN_BYTES: Self = Self(0xCA);
    /// Requested sensor, data or record not present (0xCB).
    pub const NOT_PRESENT: Self = Self(0xCB);
    /// Invalid data field in request (0xCC).
    pub const INVALID_FIELD: Self = Self(0xCC);
    /// Command illegal for the specified sensor or record type (0xCD).
    pub const ILLEGAL_FOR_TYPE: Self = Self(0xCD);
    /// Command response could not be provided (0xCE).
    pub const NO_RESPONSE: Self = Self(0xCE);
    /// Cannot execute a duplicated request (0xCF).
    pub const DUPLICATED_REQUEST: Self = Self(0xCF);
    /// SDR repository in update mode (0xD0).
    pub const SDR_UPDATE_MODE: Self = Self(0xD0);
    /// Device in firmware update mode (0xD1).
    pub const FIRMWARE_UPDATE_MODE: Self = Self(0xD1);
    /// BMC initialization in progress (0xD2).
    pub const INITIALIZING: Self = Self(0xD2);
    /// Destination unavailable (0xD3).
    pub const DESTINATION_UNAVAILABLE: Self = Self(0xD3);
    /// Cannot execute command: insufficient privilege level (0xD4).
    pub const INSUFFICIENT_PRIVILEGE: Self = Self(0xD4);
    /// Command not supported in present state (0xD5).
    pub const INVALID_STATE: Self = Self(0xD5);
    /// Command sub-function disabled or unavailable (0xD6).
    pub const SUBFUNCTION_DISABLED: Self = Self(0xD6);
    /// Unspecified error (0xFF).
    pub const UNSPECIFIED: Self = Self(0xFF);
}

impl fmt::Display for CompletionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02X}", self.0)
    }
}

/// Why a request or response body could not be decoded; maps to the completion code the spec asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The body has the wrong length (answered with 0xC7).
    #[error("invalid data length")]
    Length,
    /// A field holds a value the command does not define (answered with 0xCC).
    #[error("invalid data field")]
    Field,
    /// A value is out of the allowed range (answered with 0xC9).
    #[error("parameter out of range")]
    Range,
}

impl From<ParseError> for CompletionCode {
    fn from(e: ParseError) -> Self {
        match e {
            ParseError::Length => CompletionCode::INVALID_LENGTH,
            ParseError::Field => CompletionCode::INVALID_FIELD,
            ParseError::Range => CompletionCode::OUT_OF_RANGE,
        }
    }
}
