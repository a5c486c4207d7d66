//! Session sequence-number windows against replay (IPMI 2.0 sections 6.12.13 and 6.12.14).
//!
//! A sequence number is accepted once: ahead of the highest seen by at most [`AHEAD`], or behind
//! it by at most [`BEHIND`] if not seen before (packets may arrive out of order on UDP). Zero is
//! never valid inside a session.

/// How far ahead of the highest number seen a number may be.
pub const AHEAD: u32 = 16;
/// How far behind the highest number seen a not-yet-seen number may be.
pub const BEHIND: u32 = 16;

/// The inbound sequence-number window of one session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqWindow {
    highest: Option<u32>,
    /// Bit `i` set: `highest - 1 - i` has been seen.
    seen: u32,
}

impl SeqWindow {
    /// A window that accepts any non-zero first number (RMCP+: the console picks its start).
    pub fn new() -> Self {
        SeqWindow::default()
    }

    /// A window whose first valid number is `first` (IPMI 1.5: the BMC picks the start).
    pub fn expecting(first: u32) -> Self {
        SeqWindow {
            highest: Some(first.wrapping_sub(1)),
            seen: u32::MAX,
        }
    }

    /// Accepts `seq` and records it, or rejects it as a replay or out of the window.
    pub fn accept(&mut self, seq: u32) -> bool {
        if seq == 0 {
            return false;
        }
        let Some(highest) = self.highest else {
            self.highest = Some(seq);
            self.seen = 0;
            return true;
        };
        let ahead = seq.wrapping_sub(highest);
        if ahead != 0 && ahead <= AHEAD {
            // Shift the history: the old highest becomes "seen" at distance `ahead`.
            self.seen = if ahead >= 32 {
                0
            } else {
                (self.seen << ahead) | (1 << (ahead - 1))
            };
            self.highest = Some(seq);
            return true;
        }
        let behind = highest.wrapping_sub(seq);
        if behind == 0 || behind > BEHIND {
            return false;
        }
        let bit = 1u32 << (behind - 1);
        if self.seen & bit != 0 {
            return false;
        }
        self.seen |= bit;
        true
    }
}

/// Returns `seq` incremented, skipping zero (outbound sequence numbers).
pub fn next(seq: u32) -> u32 {
    match seq.wrapping_add(1) {
        0 => 1,
        n => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_in_order_and_rejects_replay() {
        let mut w = SeqWindow::new();
        assert!(w.accept(105));
        assert!(!w.accept(105));
        assert!(w.accept(106));
        assert!(w.accept(108));
        assert!(w.accept(107), "late but unseen");
        assert!(!w.accept(107));
        assert!(!w.accept(0));
        assert!(!w.accept(108 + AHEAD + 1), "too far ahead");
        assert!(!w.accept(108 - BEHIND - 1), "too far behind");
        assert!(w.accept(108 - BEHIND), "just inside the window");
    }

    #[test]
    fn expecting_accepts_exactly_from_first() {
        let mut w = SeqWindow::expecting(100);
        assert!(!w.accept(99));
        assert!(w.accept(100));
        assert!(w.accept(101));
        assert!(!w.accept(100));
    }

    #[test]
    fn wraps_around() {
        let mut w = SeqWindow::new();
        assert!(w.accept(u32::MAX - 1));
        assert!(w.accept(u32::MAX));
        assert!(w.accept(2));
        assert!(!w.accept(u32::MAX));
        assert_eq!(next(u32::MAX), 1);
    }

    proptest! {
        #[test]
        fn never_accepts_twice(seqs in proptest::collection::vec(1u32..60, 1..200)) {
            let mut w = SeqWindow::new();
            let mut accepted = std::collections::HashSet::new();
            for s in seqs {
                if w.accept(s) {
                    prop_assert!(accepted.insert(s), "accepted {} twice", s);
                }
            }
        }
    }
}
