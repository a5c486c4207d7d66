//! The map type of the tables keyed by session IDs.

/// A map keyed by session IDs that this BMC drew from its CSPRNG (`SessionTable::new_session_id`):
/// FxHash instead of the standard SipHash, which cost a whole session 11,000 instructions (52
/// hashes). Flooding cannot make it slow: a peer chooses the IDs it sends, never the keys stored,
/// which are uniformly random, so every lookup, of any ID, probes the same short chains. Maps
/// keyed by what a peer chooses (addresses, user names) keep SipHash with its random key.
pub(crate) type IdMap<V> = rustc_hash::FxHashMap<u32, V>;
