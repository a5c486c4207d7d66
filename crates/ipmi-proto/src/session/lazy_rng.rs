//! The server's CSPRNG, seeded by the operating system when it is first drawn from: a BMC that
//! never needed a random number (no login, no encrypted answer) holds no generator (some 320
//! bytes each, thousands of BMCs in one process).

use rand::rngs::StdRng;
use rand::{CryptoRng, RngCore, SeedableRng};

/// A [`StdRng`] made (from the operating system's entropy) at its first use.
pub(crate) struct LazyRng(Option<Box<StdRng>>);

impl LazyRng {
    /// A generator seeded from the operating system when first drawn from.
    pub(crate) fn from_entropy() -> LazyRng {
        LazyRng(None)
    }

    /// A generator that is `rng` (for reproducible tests).
    pub(crate) fn with(rng: StdRng) -> LazyRng {
        LazyRng(Some(Box::new(rng)))
    }

    fn rng(&mut self) -> &mut StdRng {
        self.0
            .get_or_insert_with(|| Box::new(StdRng::from_entropy()))
    }
}

impl RngCore for LazyRng {
    fn next_u32(&mut self) -> u32 {
        self.rng().next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.rng().next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.rng().fill_bytes(dest)
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.rng().try_fill_bytes(dest)
    }
}

/// As cryptographically secure as the [`StdRng`] it holds.
impl CryptoRng for LazyRng {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_at_first_use_and_the_same_stream_as_its_generator() {
        let mut lazy = LazyRng::from_entropy();
        assert!(lazy.0.is_none(), "nothing held before the first draw");
        let _ = lazy.next_u32();
        assert!(lazy.0.is_some());
        let mut given = LazyRng::with(StdRng::seed_from_u64(7));
        let mut plain = StdRng::seed_from_u64(7);
        let (mut a, mut b) = ([0u8; 40], [0u8; 40]);
        given.fill_bytes(&mut a);
        plain.fill_bytes(&mut b);
        assert_eq!(a, b);
        assert_eq!(given.next_u64(), plain.next_u64());
    }
}
