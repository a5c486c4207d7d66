//! The record IDs and read length that Get SEL Entry (IPMI 2.0 section 31.5) and Get SDR
//! (section 33.12) share: both walk their repository by record ID and read records in parts.

/// Record ID 0000h in a request: the first record.
pub const FIRST_RECORD: u16 = 0x0000;
/// Record ID FFFFh: in a request, the last record; as the next record ID, the end.
pub const LAST_RECORD: u16 = 0xffff;
/// Bytes to read FFh: the entire record.
pub const ENTIRE_RECORD: u8 = 0xff;
