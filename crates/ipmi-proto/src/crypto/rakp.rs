//! The RAKP key exchange of RMCP+ (IPMI 2.0 sections 13.20 to 13.32): the key exchange
//! authentication codes of RAKP messages 2 and 3, the session integrity key (SIK), the RAKP 4
//! integrity check value, and the derived keys K1 (integrity) and K2 (confidentiality).

use super::algorithm::AuthAlgorithm;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

/// HMAC of the concatenation of `parts` with `key`, with the algorithm's full output length
/// (empty for RAKP-none).
pub fn hmac(alg: AuthAlgorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    secret_hmac(alg, key, parts).to_vec()
}

/// [`hmac`] for an output that is itself a key (the SIK, K1, K2): held in zeroized memory, and
/// the digest's own copy on the stack wiped.
fn secret_hmac(alg: AuthAlgorithm, key: &[u8], parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
        let mut m = <M as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
        for p in parts {
            m.update(p);
        }
        let mut out = m.finalize().into_bytes();
        let kept = Zeroizing::new(out.to_vec());
        out.as_mut_slice().zeroize();
        kept
    }
    match alg {
        AuthAlgorithm::None => Zeroizing::new(Vec::new()),
        AuthAlgorithm::HmacSha1 => run::<Hmac<Sha1>>(key, parts),
        AuthAlgorithm::HmacSha256 => run::<Hmac<Sha256>>(key, parts),
    }
}

/// The values both sides of a RAKP exchange know once RAKP 2 is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The remote console's session ID.
    pub console_session_id: u32,
    /// The BMC's session ID.
    pub bmc_session_id: u32,
    /// The remote console's random number (RAKP 1).
    pub console_random: [u8; 16],
    /// The BMC's random number (RAKP 2).
    pub bmc_random: [u8; 16],
    /// The BMC's GUID.
    pub bmc_guid: [u8; 16],
    /// The role byte of RAKP 1, as sent (name-only lookup bit included).
    pub role: u8,
    /// The user name of RAKP 1.
    pub username: Vec<u8>,
}

impl Exchange {
    /// The key exchange authentication code of RAKP 2, keyed with the user's password:
    /// HMAC(K_UID, SIDc || SIDm || Rc || Rm || GUIDm || ROLE || ULEN || UNAME).
    pub fn rakp2_auth_code(&self, alg: AuthAlgorithm, password: &[u8]) -> Vec<u8> {
        hmac(
            alg,
            password,
            &[
                &self.console_session_id.to_le_bytes(),
                &self.bmc_session_id.to_le_bytes(),
                &self.console_random,
                &self.bmc_random,
                &self.bmc_guid,
                &[self.role, self.username.len() as u8],
                &self.username,
            ],
        )
    }

    /// The key exchange authentication code of RAKP 3:
    /// HMAC(K_UID, Rm || SIDc || ROLE || ULEN || UNAME).
    pub fn rakp3_auth_code(&self, alg: AuthAlgorithm, password: &[u8]) -> Vec<u8> {
        hmac(
            alg,
            password,
            &[
                &self.bmc_random,
                &self.console_session_id.to_le_bytes(),
                &[self.role, self.username.len() as u8],
                &self.username,
            ],
        )
    }

    /// The session integrity key: HMAC(K_G, Rc || Rm || ROLE || ULEN || UNAME), where K_G is the
    /// BMC key if one is set, else the user's password.
    pub fn sik(&self, alg: AuthAlgorithm, kg: &[u8]) -> Zeroizing<Vec<u8>> {
        secret_hmac(
            alg,
            kg,
            &[
                &self.console_random,
                &self.bmc_random,
                &[self.role, self.username.len() as u8],
                &self.username,
            ],
        )
    }

    /// The integrity check value of RAKP 4: HMAC(SIK, Rc || SIDm || GUIDm), truncated to 12
    /// bytes for HMAC-SHA1 and 16 for HMAC-SHA256.
    pub fn rakp4_icv(&self, alg: AuthAlgorithm, sik: &[u8]) -> Vec<u8> {
        let mut v = hmac(
            alg,
            sik,
            &[
                &self.console_random,
                &self.bmc_session_id.to_le_bytes(),
                &self.bmc_guid,
            ],
        );
        v.truncate(icv_len(alg));
        v
    }
}

/// The length of the RAKP 4 integrity check value.
pub const fn icv_len(alg: AuthAlgorithm) -> usize {
    match alg {
        AuthAlgorithm::None => 0,
        AuthAlgorithm::HmacSha1 => 12,
        AuthAlgorithm::HmacSha256 => 16,
    }
}

/// Derives the additional key K`n` = HMAC(SIK, 20 bytes of `n`). K1 keys integrity, K2
/// confidentiality (IPMI 2.0 section 13.32). The constant is 20 bytes for HMAC-SHA256 too: that
/// is what ipmitool, FreeIPMI and pyghmi compute (checked against all three for suite 17).
pub fn derive_key(alg: AuthAlgorithm, sik: &[u8], n: u8) -> Zeroizing<Vec<u8>> {
    if alg == AuthAlgorithm::None {
        return Zeroizing::new(Vec::new());
    }
    secret_hmac(alg, sik, &[&[n; 20]])
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed with an independent implementation (Python's hmac/hashlib) from the
    // formulas of IPMI 2.0 sections 13.31 and 13.32.
    fn exchange() -> Exchange {
        Exchange {
            console_session_id: 0xa0a2_a3a4,
            bmc_session_id: 0x1234_5678,
            console_random: core::array::from_fn(|i| i as u8),
            bmc_random: core::array::from_fn(|i| 16 + i as u8),
            bmc_guid: core::array::from_fn(|i| 32 + i as u8),
            role: 0x14,
            username: b"admin".to_vec(),
        }
    }

    fn check(alg: AuthAlgorithm, v: [&str; 6]) {
        let x = exchange();
        assert_eq!(hex::encode(x.rakp2_auth_code(alg, b"password")), v[0]);
        assert_eq!(hex::encode(x.rakp3_auth_code(alg, b"password")), v[1]);
        let sik = x.sik(alg, b"password");
        assert_eq!(hex::encode(&*sik), v[2]);
        assert_eq!(hex::encode(x.rakp4_icv(alg, &sik)), v[3]);
        assert_eq!(hex::encode(&*derive_key(alg, &sik, 1)), v[4]);
        assert_eq!(hex::encode(&*derive_key(alg, &sik, 2)), v[5]);
    }

    #[test]
    fn hmac_sha1_vectors() {
        check(
            AuthAlgorithm::HmacSha1,
            [
                "9508518bfb43673d0eb84d935ac25439b06a7ab8",
                "4ab420258775814f120682c8ab9275c29997effd",
                "122c77c4b11ccd93251cbae6c34a9cb6310da154",
                "5aca955789109a61974ad7a1",
                "e4472be78f9a81fa68297aab696a7be8c97fc9f8",
                "2b6552012a2517cb3b5713901d757a6efc7d8301",
            ],
        );
    }

    #[test]
    fn hmac_sha256_vectors() {
        check(
            AuthAlgorithm::HmacSha256,
            [
                "79b07cf99f6fd074691206ca7d16d7dd4f3839265fb50a773376369454929e88",
                "72a845290e0504673b2177d93a8dd844954778f3fe6b0476b2e7055a21663586",
                "e5935f7199865ad961063477b0662684e2ce9b1da8f2b8d41c5ce127d37e9bcf",
                "f9794eeba255f475851d0dc1957efda9",
                "dc4fe73d075306f6897115dd63257385e845c10404fa1d73991790c6a101bec2",
                "2a4f969ea6dfa83066f36674fdc2fea289fa1a21da90303e9b5269b54ec5adb5",
            ],
        );
    }

    #[test]
    fn rakp_none_has_no_codes() {
        let x = exchange();
        assert!(x.rakp2_auth_code(AuthAlgorithm::None, b"pw").is_empty());
        assert!(derive_key(AuthAlgorithm::None, b"", 1).is_empty());
    }
}
