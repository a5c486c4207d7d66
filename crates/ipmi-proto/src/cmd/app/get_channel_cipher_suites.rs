//! Get Channel Cipher Suites (IPMI 2.0 section 22.15, App 0x54, outside a session).

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError};

command!(
    /// Get Channel Cipher Suites: the RMCP+ cipher suites a channel offers, as a list of records
    /// read 16 bytes at a time.
    GetChannelCipherSuites, "Get Channel Cipher Suites", "22.15",
    NetFn::APP, 0x54, None, CipherSuitesRequest, CipherSuitesResponse
);

/// Bit 7 of the list index byte: list the algorithms by cipher suite (rather than all supported
/// algorithms).
const LIST_BY_SUITE: u8 = 0x80;
/// The most record bytes one response carries.
pub const PAGE_LEN: usize = 16;

/// The Get Channel Cipher Suites request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CipherSuitesRequest {
    /// Channel number (bits 3:0; 0x0E: this channel).
    pub channel: u8,
    /// Payload type the suites are asked for (bits 5:0; 0: IPMI messages).
    pub payload_type: u8,
    /// Bit 7 of byte 3: list by cipher suite.
    pub list_by_suite: bool,
    /// Bits 5:0 of byte 3: which 16-byte page of the record list to return.
    pub index: u8,
}

impl Body for CipherSuitesRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 3, 3)?;
        Ok(CipherSuitesRequest {
            channel: d[0] & 0x0f,
            payload_type: d[1] & 0x3f,
            list_by_suite: d[2] & LIST_BY_SUITE != 0,
            index: d[2] & 0x3f,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        let by_suite = if self.list_by_suite { LIST_BY_SUITE } else { 0 };
        out.extend_from_slice(&[
            self.channel & 0x0f,
            self.payload_type & 0x3f,
            by_suite | (self.index & 0x3f),
        ]);
    }
}

/// The Get Channel Cipher Suites response: one page of the record list. A page may end inside a
/// record; join the pages before reading them with [`suite_ids`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CipherSuitesResponse {
    /// The channel number.
    pub channel: u8,
    /// Up to [`PAGE_LEN`] bytes of the record list, from byte `16 * index`.
    pub records: Vec<u8>,
}

impl Body for CipherSuitesResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        let (&channel, records) = d.split_first().ok_or(ParseError::Length)?;
        Ok(CipherSuitesResponse {
            channel,
            records: records.to_vec(),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.channel);
        out.extend_from_slice(&self.records);
    }
}

/// Start of a standard cipher suite record (table 22-18).
const STANDARD_RECORD: u8 = 0xc0;
/// Start of an OEM cipher suite record, which carries a 3-byte IANA after the suite ID.
const OEM_RECORD: u8 = 0xc1;
/// Tags of the algorithm bytes of a record: authentication, integrity, confidentiality.
const INTEGRITY_TAG: u8 = 0x40;
const CONFIDENTIALITY_TAG: u8 = 0x80;

/// A standard cipher suite record: a suite ID and its algorithm numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CipherSuiteRecord {
    /// The cipher suite ID.
    pub id: u8,
    /// The authentication algorithm number.
    pub auth: u8,
    /// The integrity algorithm number.
    pub integrity: u8,
    /// The confidentiality algorithm number.
    pub confidentiality: u8,
}

impl CipherSuiteRecord {
    /// Appends the record (5 bytes).
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[
            STANDARD_RECORD,
            self.id,
            self.auth & 0x3f,
            INTEGRITY_TAG | (self.integrity & 0x3f),
            CONFIDENTIALITY_TAG | (self.confidentiality & 0x3f),
        ]);
    }
}

/// The suite IDs of a joined record list, standard and OEM records alike; bytes that start no
/// record are skipped.
pub fn suite_ids(records: &[u8]) -> Vec<u8> {
    let mut ids = Vec::new();
    let mut i = 0;
    while i + 1 < records.len() {
        match records[i] {
            STANDARD_RECORD => {
                ids.push(records[i + 1]);
                i += 5;
            }
            OEM_RECORD => {
                ids.push(records[i + 1]);
                i += 8;
            }
            _ => i += 1,
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn requests_of_ipmitool() {
        // `ipmitool channel getciphers ipmi`: this channel, IPMI payload, by suite, pages 0, 1.
        let r: CipherSuitesRequest = captured(&[0x0e, 0x00, 0x80]);
        assert_eq!(
            (r.channel, r.payload_type, r.list_by_suite, r.index),
            (0x0e, 0, true, 0)
        );
        let r: CipherSuitesRequest = captured(&[0x0e, 0x00, 0x81]);
        assert_eq!(r.index, 1);
        round_trip(&CipherSuitesRequest {
            channel: 1,
            payload_type: 1,
            list_by_suite: false,
            index: 63,
        });
        assert_eq!(
            CipherSuitesRequest::parse(&[0x0e, 0x00]),
            Err(ParseError::Length)
        );
    }

    #[test]
    fn pages_of_ipmi_sim_give_its_suites() {
        let pages = [
            "01c000004080c001014080c002014180c0",
            "0103014181c004014182c005014183c006",
            "01024080c007024280c008024281c00902",
            "014282c00a024283c00b024380c00c0243",
            "0181c00d024382c00e024383",
        ];
        let mut joined = Vec::new();
        for p in pages {
            let r: CipherSuitesResponse = captured(&hex::decode(p).unwrap());
            assert_eq!(r.channel, 1);
            assert!(r.records.len() <= PAGE_LEN);
            joined.extend_from_slice(&r.records);
        }
        assert_eq!(suite_ids(&joined), (0..=14).collect::<Vec<u8>>());
        assert_eq!(CipherSuitesResponse::parse(&[]), Err(ParseError::Length));
    }

    #[test]
    fn records_as_we_list_them() {
        let mut v = Vec::new();
        for (id, a, i, c) in [(3, 1, 1, 1), (17, 3, 4, 1)] {
            CipherSuiteRecord {
                id,
                auth: a,
                integrity: i,
                confidentiality: c,
            }
            .emit(&mut v);
        }
        assert_eq!(v, [0xc0, 3, 1, 0x41, 0x81, 0xc0, 17, 3, 0x44, 0x81]);
        v.extend_from_slice(&[0xc1, 0x80, 0xf2, 0x1b, 0x00, 1, 0x41, 0x81]);
        assert_eq!(suite_ids(&v), [3, 17, 0x80]);
        round_trip(&CipherSuitesResponse {
            channel: 1,
            records: v[..16].to_vec(),
        });
    }
}
