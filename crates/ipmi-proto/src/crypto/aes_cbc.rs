//! AES-CBC-128 confidentiality of RMCP+ payloads (IPMI 2.0 section 13.29): the payload is a
//! 16-byte IV followed by the encryption of data || pad (01 02 03 ..) || pad length, a multiple of
//! 16 bytes. The key is the first 16 bytes of K2.

use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};

type Enc = cbc::Encryptor<aes::Aes128>;
type Dec = cbc::Decryptor<aes::Aes128>;

/// Why a payload could not be decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// The key is shorter than 16 bytes.
    #[error("key too short")]
    Key,
    /// The payload is not an IV plus whole blocks.
    #[error("bad payload length")]
    Length,
    /// The confidentiality trailer (pad bytes and pad length) is not well formed.
    #[error("bad padding")]
    Padding,
}

/// Encrypts `data` with the first 16 bytes of `k2` and the given IV; returns IV || ciphertext.
pub fn encrypt(k2: &[u8], iv: [u8; 16], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encrypted_len(data.len()));
    encrypt_into(k2, iv, data, &mut out);
    out
}

/// The length of the payload [`encrypt`] makes of `data_len` bytes: the IV and whole blocks.
pub fn encrypted_len(data_len: usize) -> usize {
    16 + (data_len + 1).div_ceil(16) * 16
}

/// [`encrypt`], appending IV || ciphertext to `out` (encrypted in place, no other buffer).
pub fn encrypt_into(k2: &[u8], iv: [u8; 16], data: &[u8], out: &mut Vec<u8>) {
    let pad = (16 - (data.len() + 1) % 16) % 16;
    out.reserve(16 + data.len() + pad + 1);
    out.extend_from_slice(&iv);
    let body = out.len();
    out.extend_from_slice(data);
    out.extend(1..=pad as u8);
    out.push(pad as u8);
    let len = out.len() - body;
    let enc = Enc::new_from_slices(&k2[..16], &iv).expect("16-byte key and IV");
    enc.encrypt_padded_mut::<NoPadding>(&mut out[body..], len)
        .expect("whole blocks");
}

/// Decrypts an IV || ciphertext payload with the first 16 bytes of `k2`, checks and removes the
/// confidentiality pad, and returns the data.
pub fn decrypt(k2: &[u8], payload: &[u8]) -> Result<Vec<u8>, DecryptError> {
    if k2.len() < 16 {
        return Err(DecryptError::Key);
    }
    if payload.len() < 32 || payload.len() % 16 != 0 {
        return Err(DecryptError::Length);
    }
    let (iv, ct) = payload.split_at(16);
    let mut buf = ct.to_vec();
    let dec = Dec::new_from_slices(&k2[..16], iv).map_err(|_| DecryptError::Key)?;
    dec.decrypt_padded_mut::<NoPadding>(&mut buf)
        .map_err(|_| DecryptError::Length)?;
    let pad = *buf.last().ok_or(DecryptError::Length)? as usize;
    if pad > 15 || pad + 1 > buf.len() {
        return Err(DecryptError::Padding);
    }
    let data_len = buf.len() - 1 - pad;
    if buf[data_len..data_len + pad]
        .iter()
        .enumerate()
        .any(|(i, b)| *b as usize != i + 1)
    {
        return Err(DecryptError::Padding);
    }
    buf.truncate(data_len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_all_lengths() {
        let k2 = [7u8; 20];
        for n in 0..40 {
            let data: Vec<u8> = (0..n as u8).collect();
            let p = encrypt(&k2, [3; 16], &data);
            assert_eq!(p.len() % 16, 0);
            assert_eq!(p.len(), encrypted_len(n));
            assert_eq!(decrypt(&k2, &p).unwrap(), data);
            // Appended after what the buffer already holds, the same bytes.
            let mut out = vec![9, 9, 9];
            encrypt_into(&k2, [3; 16], &data, &mut out);
            assert_eq!(out[..3], [9, 9, 9]);
            assert_eq!(out[3..], p[..]);
        }
    }

    #[test]
    fn known_vector() {
        // AES-128-CBC of "ipmi" + pad 01..0b + 0b under key 00..0f, IV 10..1f (computed with
        // an independent implementation, Python's cryptography package).
        let key: Vec<u8> = (0..16).collect();
        let iv: [u8; 16] = core::array::from_fn(|i| 0x10 + i as u8);
        let p = encrypt(&key, iv, b"ipmi");
        assert_eq!(hex::encode(&p[16..]), KNOWN_CT);
    }

    const KNOWN_CT: &str = "1909473f5f6a433211e5254297eed5fe";

    #[test]
    fn rejects_bad_padding_and_lengths() {
        let k2 = [1u8; 16];
        let mut p = encrypt(&k2, [0; 16], b"hello");
        assert!(decrypt(&k2, &p[..20]).is_err());
        p[31] ^= 0x55; // garbles the last block, hence the pad
        assert_eq!(decrypt(&k2, &p), Err(DecryptError::Padding));
        assert_eq!(decrypt(&k2[..8], &p), Err(DecryptError::Key));
    }
}
