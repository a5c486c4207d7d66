//! Get User Name (IPMI 2.0 section 22.29, App 0x46, Operator). The request is the user ID.

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get User Name: the 16-byte name of a user ID.
    GetUserName, "Get User Name", "22.29",
    NetFn::APP, 0x46, Some(Privilege::Operator), u8, UserNameResponse
);

/// A user name, sent as 16 bytes padded with zeros.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserNameResponse {
    /// The name's bytes up to the first zero byte: at most 16 (longer names are cut on the wire).
    /// Bytes, not text: the specification names no character set, and a name that is not UTF-8
    /// must reach a client as the BMC sent it.
    pub name: Vec<u8>,
}

impl UserNameResponse {
    /// The response naming `name`.
    pub fn new(name: &str) -> Self {
        UserNameResponse {
            name: name.as_bytes().to_vec(),
        }
    }
}

impl Body for UserNameResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 16, 16)?;
        let end = d.iter().position(|b| *b == 0).unwrap_or(16);
        Ok(UserNameResponse {
            name: d[..end].to_vec(),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        let mut name = [0u8; 16];
        let n = self.name.len().min(16);
        name[..n].copy_from_slice(&self.name[..n]);
        out.extend_from_slice(&name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn ipmi_sim_names_its_admin() {
        // `ipmitool channel getaccess 1 2`: the request is the user ID.
        assert_eq!(captured::<u8>(&[0x02]), 2);
        let mut bytes = b"admin".to_vec();
        bytes.resize(16, 0);
        let r: UserNameResponse = captured(&bytes);
        assert_eq!(r.name, b"admin");
        let empty: UserNameResponse = captured(&[0; 16]);
        assert_eq!(empty.name, b"");
        round_trip(&UserNameResponse::new("operator"));
        assert_eq!(UserNameResponse::parse(&[0; 15]), Err(ParseError::Length));
    }

    #[test]
    fn a_name_that_is_not_utf8_keeps_its_bytes() {
        // Latin-1 "José" and a name of 16 bytes whose last is half a UTF-8 character.
        let mut latin1 = b"Jos\xe9".to_vec();
        latin1.resize(16, 0);
        let r: UserNameResponse = captured(&latin1);
        assert_eq!(r.name, b"Jos\xe9");
        let mut cut = b"abcdefghijklmno".to_vec();
        cut.push(0xc3);
        let r: UserNameResponse = captured(&cut);
        assert_eq!(r.name, cut);
    }
}
