//! The algorithms of RMCP+ sessions (IPMI 2.0 section 13.28): authentication (RAKP),
//! integrity and confidentiality, with their wire codes. Which triples form a cipher suite is for
//! the session layer to say.

/// Authentication (RAKP) algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthAlgorithm {
    /// RAKP-none (0): no authentication; only with cipher suite 0.
    None,
    /// RAKP-HMAC-SHA1 (1).
    HmacSha1,
    /// RAKP-HMAC-SHA256 (3).
    HmacSha256,
}

/// Integrity algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntegrityAlgorithm {
    /// None (0).
    None,
    /// HMAC-SHA1-96 (1).
    HmacSha1_96,
    /// HMAC-SHA256-128 (4).
    HmacSha256_128,
}

/// Confidentiality algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConfidentialityAlgorithm {
    /// None (0).
    None,
    /// AES-CBC-128 (1).
    AesCbc128,
}

impl AuthAlgorithm {
    /// The wire code.
    pub const fn code(self) -> u8 {
        match self {
            AuthAlgorithm::None => 0,
            AuthAlgorithm::HmacSha1 => 1,
            AuthAlgorithm::HmacSha256 => 3,
        }
    }
}

impl IntegrityAlgorithm {
    /// The wire code.
    pub const fn code(self) -> u8 {
        match self {
            IntegrityAlgorithm::None => 0,
            IntegrityAlgorithm::HmacSha1_96 => 1,
            IntegrityAlgorithm::HmacSha256_128 => 4,
        }
    }
    /// The length of the auth code this algorithm puts in the session trailer.
    pub const fn code_len(self) -> usize {
        match self {
            IntegrityAlgorithm::None => 0,
            IntegrityAlgorithm::HmacSha1_96 => 12,
            IntegrityAlgorithm::HmacSha256_128 => 16,
        }
    }
}

impl ConfidentialityAlgorithm {
    /// The wire code.
    pub const fn code(self) -> u8 {
        match self {
            ConfidentialityAlgorithm::None => 0,
            ConfidentialityAlgorithm::AesCbc128 => 1,
        }
    }
}
