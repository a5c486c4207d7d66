//! Packet integrity of RMCP+ sessions (IPMI 2.0 section 13.28.4): the auth code in the session
//! trailer, computed over the packet from the auth type byte through the next header byte.

use super::algorithm::IntegrityAlgorithm;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// The auth code of `data` for the integrity algorithm, keyed with K1.
pub fn auth_code(alg: IntegrityAlgorithm, k1: &[u8], data: &[u8]) -> Vec<u8> {
    auth_code_inline(alg, k1, data).to_vec()
}

/// An auth code held inline (no allocation): at most 16 bytes, the longest any integrity
/// algorithm has.
#[derive(Clone, Copy, Debug)]
pub struct AuthCode {
    bytes: [u8; 16],
    len: usize,
}

impl std::ops::Deref for AuthCode {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// [`auth_code`] without allocating, for sealing and opening every packet of a session.
pub fn auth_code_inline(alg: IntegrityAlgorithm, k1: &[u8], data: &[u8]) -> AuthCode {
    let mut code = AuthCode {
        bytes: [0; 16],
        len: alg.code_len(),
    };
    let mut keep = |full: &[u8]| code.bytes[..code.len].copy_from_slice(&full[..code.len]);
    match alg {
        IntegrityAlgorithm::None => {}
        IntegrityAlgorithm::HmacSha1_96 => {
            let mut m = <Hmac<Sha1> as Mac>::new_from_slice(k1).expect("any key length");
            m.update(data);
            keep(&m.finalize().into_bytes());
        }
        IntegrityAlgorithm::HmacSha256_128 => {
            let mut m = <Hmac<Sha256> as Mac>::new_from_slice(k1).expect("any key length");
            m.update(data);
            keep(&m.finalize().into_bytes());
        }
    }
    code
}
