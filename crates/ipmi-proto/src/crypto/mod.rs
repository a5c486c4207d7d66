//! The cryptography of IPMI over LAN: IPMI 1.5 authentication codes ([`auth15`]), the RAKP key
//! exchange and session keys ([`rakp`]), packet integrity ([`integrity`]) and confidentiality
//! ([`aes_cbc`]), the algorithm codes they are chosen by ([`algorithm`]), and the [`Secret`] type
//! that holds passwords and keys. All comparisons of secrets are constant-time ([`ct_eq`]).

pub mod aes_cbc;
pub mod algorithm;
pub mod auth15;
pub mod integrity;
pub mod rakp;
mod secret;

pub use secret::Secret;

use subtle::ConstantTimeEq;

/// Compares two byte strings in constant time (for equal lengths).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
