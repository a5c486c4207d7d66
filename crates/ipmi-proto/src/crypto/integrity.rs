//! Packet integrity of RMCP+ sessions (IPMI 2.0 section 13.28.4): the auth code in the session
//! trailer, computed over the packet from the auth type byte through the next header byte.

use super::algorithm::IntegrityAlgorithm;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// The auth code of `data` for the integrity algorithm, keyed with K1.
pub fn auth_code(alg: IntegrityAlgorithm, k1: &[u8], data: &[u8]) -> Vec<u8> {
    let mut v = match alg {
        IntegrityAlgorithm::None => return Vec::new(),
        IntegrityAlgorithm::HmacSha1_96 => {
            let mut m = <Hmac<Sha1> as Mac>::new_from_slice(k1).expect("any key length");
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        IntegrityAlgorithm::HmacSha256_128 => {
            let mut m = <Hmac<Sha256> as Mac>::new_from_slice(k1).expect("any key length");
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
    };
    v.truncate(alg.code_len());
    v
}
