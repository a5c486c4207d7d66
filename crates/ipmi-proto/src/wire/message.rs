//! The IPMI LAN message (IPMI 2.0 section 13.8, figure 13-4): the request or response carried in
//! a session's payload, protected by two two's-complement checksums.
//!
//! ```text
//! request:  rsAddr | netFn<<2 rsLUN | chk1 | rqAddr | rqSeq<<2 rqLUN | cmd | data.. | chk2
//! response: rqAddr | netFn<<2 rqLUN | chk1 | rsAddr | rqSeq<<2 rsLUN | cmd | ccode | data.. | chk2
//! ```

use super::{Result, WireError};
use crate::types::{CompletionCode, NetFn};

/// The BMC's slave address on IPMB, the usual responder address.
pub const BMC_SLAVE_ADDR: u8 = 0x20;
/// The software ID that remote consoles use as requester address.
pub const REMOTE_CONSOLE_SWID: u8 = 0x81;

/// The two's-complement checksum of `bytes`: adding it to their sum gives 0 (mod 256).
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |acc, b| acc.wrapping_add(*b))
        .wrapping_neg()
}

fn verify(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |acc, b| acc.wrapping_add(*b)) == 0
}

/// A parsed IPMI request message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Responder's slave address (the BMC, 0x20).
    pub rs_addr: u8,
    /// Network function.
    pub netfn: NetFn,
    /// Responder's LUN.
    pub rs_lun: u8,
    /// Requester's address (software ID 0x81 for remote consoles).
    pub rq_addr: u8,
    /// Requester's sequence number (6 bits), echoed in the response.
    pub rq_seq: u8,
    /// Requester's LUN.
    pub rq_lun: u8,
    /// Command code.
    pub cmd: u8,
    /// Request data.
    pub data: Vec<u8>,
}

impl Request {
    /// Parses a request message, verifying both checksums.
    pub fn parse(b: &[u8]) -> Result<Request> {
        if b.len() < 7 {
            return Err(WireError::Truncated);
        }
        if !verify(&b[..3]) || !verify(&b[3..]) {
            return Err(WireError::Checksum);
        }
        Ok(Request {
            rs_addr: b[0],
            netfn: NetFn(b[1] >> 2),
            rs_lun: b[1] & 3,
            rq_addr: b[3],
            rq_seq: b[4] >> 2,
            rq_lun: b[4] & 3,
            cmd: b[5],
            data: b[6..b.len() - 1].to_vec(),
        })
    }

    /// Appends the encoded request with its checksums.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[self.rs_addr, (self.netfn.0 << 2) | (self.rs_lun & 3)]);
        out.push(checksum(&out[start..]));
        let second = out.len();
        out.extend_from_slice(&[
            self.rq_addr,
            (self.rq_seq << 2) | (self.rq_lun & 3),
            self.cmd,
        ]);
        out.extend_from_slice(&self.data);
        out.push(checksum(&out[second..]));
    }

    /// Appends the response to this request with the given completion code and data: the bytes
    /// of `self.response(ccode, data).emit(out)`, without building the [`Response`].
    pub fn emit_response(&self, ccode: CompletionCode, data: &[u8], out: &mut Vec<u8>) {
        emit_response(
            [
                self.rq_addr,
                (self.netfn.response().0 << 2) | (self.rq_lun & 3),
            ],
            [
                self.rs_addr,
                (self.rq_seq << 2) | (self.rs_lun & 3),
                self.cmd,
                ccode.0,
            ],
            data,
            out,
        );
    }

    /// The response to this request with the given completion code and data.
    pub fn response(&self, ccode: CompletionCode, data: &[u8]) -> Response {
        Response {
            rq_addr: self.rq_addr,
            netfn: self.netfn.response(),
            rq_lun: self.rq_lun,
            rs_addr: self.rs_addr,
            rq_seq: self.rq_seq,
            rs_lun: self.rs_lun,
            cmd: self.cmd,
            ccode,
            data: data.to_vec(),
        }
    }
}

/// A parsed IPMI response message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Requester's address.
    pub rq_addr: u8,
    /// Network function (the request's, plus one).
    pub netfn: NetFn,
    /// Requester's LUN.
    pub rq_lun: u8,
    /// Responder's address.
    pub rs_addr: u8,
    /// The requester's sequence number being answered.
    pub rq_seq: u8,
    /// Responder's LUN.
    pub rs_lun: u8,
    /// Command code.
    pub cmd: u8,
    /// Completion code.
    pub ccode: CompletionCode,
    /// Response data after the completion code.
    pub data: Vec<u8>,
}

impl Response {
    /// Parses a response message, verifying both checksums.
    pub fn parse(b: &[u8]) -> Result<Response> {
        if b.len() < 8 {
            return Err(WireError::Truncated);
        }
        if !verify(&b[..3]) || !verify(&b[3..]) {
            return Err(WireError::Checksum);
        }
        Ok(Response {
            rq_addr: b[0],
            netfn: NetFn(b[1] >> 2),
            rq_lun: b[1] & 3,
            rs_addr: b[3],
            rq_seq: b[4] >> 2,
            rs_lun: b[4] & 3,
            cmd: b[5],
            ccode: CompletionCode(b[6]),
            data: b[7..b.len() - 1].to_vec(),
        })
    }

    /// Appends the encoded response with its checksums.
    pub fn emit(&self, out: &mut Vec<u8>) {
        emit_response(
            [self.rq_addr, (self.netfn.0 << 2) | (self.rq_lun & 3)],
            [
                self.rs_addr,
                (self.rq_seq << 2) | (self.rs_lun & 3),
                self.cmd,
                self.ccode.0,
            ],
            &self.data,
            out,
        );
    }
}

/// A response message: the two header bytes the first checksum covers, the four bytes that
/// follow it (the completion code last), the data, and the second checksum.
fn emit_response(first: [u8; 2], second: [u8; 4], data: &[u8], out: &mut Vec<u8>) {
    out.reserve(8 + data.len());
    out.extend_from_slice(&first);
    out.push(checksum(&first));
    let start = out.len();
    out.extend_from_slice(&second);
    out.extend_from_slice(data);
    out.push(checksum(&out[start..]));
}

#[cfg(test)]
mod tests {
    use super::*;

    // Get Channel Authentication Capabilities as ipmitool sends it: channel 0x0E (+v2 bit), admin.
    const GET_AUTH_CAP: [u8; 9] = [0x20, 0x18, 0xc8, 0x81, 0x00, 0x38, 0x8e, 0x04, 0xb5];

    #[test]
    fn parses_known_request() {
        let r = Request::parse(&GET_AUTH_CAP).unwrap();
        assert_eq!(r.netfn, NetFn::APP);
        assert_eq!(r.cmd, 0x38);
        assert_eq!(r.data, vec![0x8e, 0x04]);
        let mut v = Vec::new();
        r.emit(&mut v);
        assert_eq!(v, GET_AUTH_CAP);
    }

    #[test]
    fn response_round_trip() {
        let r = Request::parse(&GET_AUTH_CAP).unwrap();
        let resp = r.response(CompletionCode::OK, &[1, 2, 3]);
        let mut v = Vec::new();
        resp.emit(&mut v);
        assert_eq!(&v[..3], &[0x81, 0x1c, 0x63]);
        assert_eq!(Response::parse(&v).unwrap(), resp);
        let mut direct = vec![0xaa];
        r.emit_response(CompletionCode::OK, &[1, 2, 3], &mut direct);
        assert_eq!(direct[0], 0xaa);
        assert_eq!(direct[1..], v[..]);
    }

    #[test]
    fn rejects_bad_checksums() {
        let mut b = GET_AUTH_CAP;
        b[2] ^= 1;
        assert_eq!(Request::parse(&b).unwrap_err(), WireError::Checksum);
        let mut b = GET_AUTH_CAP;
        b[8] ^= 1;
        assert_eq!(Request::parse(&b).unwrap_err(), WireError::Checksum);
        assert_eq!(
            Request::parse(&GET_AUTH_CAP[..6]).unwrap_err(),
            WireError::Truncated
        );
    }
}
