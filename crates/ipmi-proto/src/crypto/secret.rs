//! Secrets (passwords and keys): kept in memory that is zeroed when dropped, and never printed.

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A secret (password or key) that is zeroed on drop, never printed, and compared in constant
/// time.
#[derive(Clone, Default)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(Zeroizing::new(bytes.into()))
    }
    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq for Secret {
    /// Constant-time for secrets of equal length: how much of a guess is right does not show.
    fn eq(&self, other: &Self) -> bool {
        // subtle answers false for different lengths without looking at the bytes.
        bool::from(self.0.as_slice().ct_eq(other.0.as_slice()))
    }
}

impl Eq for Secret {}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_and_redaction() {
        assert_eq!(Secret::new(b"pw".to_vec()), Secret::new(b"pw".to_vec()));
        assert_ne!(Secret::new(b"pw".to_vec()), Secret::new(b"pX".to_vec()));
        assert_ne!(Secret::new(b"pw".to_vec()), Secret::new(b"pw2".to_vec()));
        assert_eq!(Secret::default(), Secret::new(Vec::new()));
        assert_eq!(format!("{:?}", Secret::new(b"pw".to_vec())), "Secret(..)");
    }
}
