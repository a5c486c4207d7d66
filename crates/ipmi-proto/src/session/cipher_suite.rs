//! RMCP+ cipher suites (IPMI 2.0 section 22.15.2, table 22-20): which triples of the algorithms
//! in [`crate::crypto::algorithm`] (section 13.28) this crate implements, by suite ID.

pub use crate::crypto::algorithm::{AuthAlgorithm, ConfidentialityAlgorithm, IntegrityAlgorithm};

/// A cipher suite: an ID and its three algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CipherSuite {
    /// The cipher suite ID.
    pub id: u8,
    /// Authentication algorithm.
    pub auth: AuthAlgorithm,
    /// Integrity algorithm.
    pub integrity: IntegrityAlgorithm,
    /// Confidentiality algorithm.
    pub confidentiality: ConfidentialityAlgorithm,
}

impl CipherSuite {
    /// The cipher suites this crate implements, by ID: 0, 1, 2, 3, 15, 16, 17.
    pub fn by_id(id: u8) -> Option<CipherSuite> {
        use AuthAlgorithm as A;
        use ConfidentialityAlgorithm as C;
        use IntegrityAlgorithm as I;
        let (auth, integrity, confidentiality) = match id {
            0 => (A::None, I::None, C::None),
            1 => (A::HmacSha1, I::None, C::None),
            2 => (A::HmacSha1, I::HmacSha1_96, C::None),
            3 => (A::HmacSha1, I::HmacSha1_96, C::AesCbc128),
            15 => (A::HmacSha256, I::None, C::None),
            16 => (A::HmacSha256, I::HmacSha256_128, C::None),
            17 => (A::HmacSha256, I::HmacSha256_128, C::AesCbc128),
            _ => return None,
        };
        Some(CipherSuite {
            id,
            auth,
            integrity,
            confidentiality,
        })
    }

    /// The implemented cipher suite with exactly these algorithm codes.
    pub fn by_algorithms(auth: u8, integrity: u8, confidentiality: u8) -> Option<CipherSuite> {
        [0, 1, 2, 3, 15, 16, 17]
            .into_iter()
            .filter_map(CipherSuite::by_id)
            .find(|s| {
                s.auth.code() == auth
                    && s.integrity.code() == integrity
                    && s.confidentiality.code() == confidentiality
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_by_id_and_algorithms_agree() {
        for id in [0, 1, 2, 3, 15, 16, 17] {
            let s = CipherSuite::by_id(id).unwrap();
            let t = CipherSuite::by_algorithms(
                s.auth.code(),
                s.integrity.code(),
                s.confidentiality.code(),
            )
            .unwrap();
            assert_eq!(s, t);
        }
        assert_eq!(CipherSuite::by_id(17).unwrap().integrity.code_len(), 16);
        assert!(CipherSuite::by_id(4).is_none());
        assert!(CipherSuite::by_algorithms(2, 2, 0).is_none());
    }
}
