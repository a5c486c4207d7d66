//! Reading structure out of fuzz input: bytes, length-prefixed chunks, and byte-level mutations.

/// A cursor over fuzz input. Reads past the end yield `None`; a chunk longer than what is left
/// is cut short, so every input means something.
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    /// The next byte.
    pub fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }

    /// The next chunk: a length byte, then up to that many bytes.
    pub fn chunk(&mut self) -> Option<&'a [u8]> {
        let len = usize::from(self.byte()?);
        let (chunk, rest) = self.data.split_at(len.min(self.data.len()));
        self.data = rest;
        Some(chunk)
    }
}

/// Appends an op (tag and length-prefixed data) in the format [`Reader`] reads back: for the seed
/// corpora and the proptest strategies.
pub fn push_op(out: &mut Vec<u8>, tag: u8, data: &[u8]) {
    assert!(data.len() <= 255, "op data longer than a length byte");
    out.push(tag);
    out.push(data.len() as u8);
    out.extend_from_slice(data);
}

/// Applies byte-level mutations to a copy of `original`. `spec` is read in triples
/// `[kind, a, b]`: kind 0 XORs byte `a` (counted from the start) with `b`; kind 1 XORs byte `a`
/// counted from the end (the trailer and auth code live there); kind 2 cuts `a % 32 + 1` bytes
/// off the end; kind 3 appends `a % 8 + 1` copies of `b`.
pub fn mutate(original: &[u8], spec: &[u8]) -> Vec<u8> {
    let mut v = original.to_vec();
    for t in spec.chunks_exact(3) {
        let (a, b) = (usize::from(t[1]), t[2]);
        match t[0] % 4 {
            0 if !v.is_empty() => {
                let i = a % v.len();
                v[i] ^= b;
            }
            1 if !v.is_empty() => {
                let i = v.len() - 1 - a % v.len();
                v[i] ^= b;
            }
            2 => v.truncate(v.len().saturating_sub(a % 32 + 1)),
            3 => v.extend(std::iter::repeat_n(b, a % 8 + 1)),
            _ => {}
        }
    }
    v
}
