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
    /// The name (at most 16 bytes; longer names are cut on the wire).
    pub name: String,
}

impl Body for UserNameResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 16, 16)?;
        let end = d.iter().position(|b| *b == 0).unwrap_or(16);
        Ok(UserNameResponse {
            name: String::from_utf8_lossy(&d[..end]).into_owned(),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        let mut name = [0u8; 16];
        let b = self.name.as_bytes();
        let n = b.len().min(16);
        name[..n].copy_from_slice(&b[..n]);
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
        assert_eq!(r.name, "admin");
        let empty: UserNameResponse = captured(&[0; 16]);
        assert_eq!(empty.name, "");
        round_trip(&UserNameResponse {
            name: "operator".into(),
        });
        assert_eq!(UserNameResponse::parse(&[0; 15]), Err(ParseError::Length));
    }
}
