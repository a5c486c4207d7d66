//! JSON documents built from fuzz bytes, for the harnesses of what upstream APIs send
//! (Redfish, Metal, the http backend's answers): random bytes are seldom JSON, so each byte
//! picks the next node (null, boolean, number, string, object, array) and, for keys and
//! strings, either one of the harness's interesting words or raw text. The fuzz targets and
//! their proptest twins both feed bytes through here.

#![allow(dead_code)] // each harness uses its part

use serde_json::{Map, Number, Value};

/// Bytes read one at a time; zeros once they run out.
pub struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    /// Reads `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data, at: 0 }
    }

    /// The next byte (0 past the end).
    pub fn next(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    /// Whether every byte has been read.
    pub fn done(&self) -> bool {
        self.at >= self.data.len()
    }

    /// A string: one of `words` (most often), or up to 40 raw bytes as text.
    pub fn string(&mut self, words: &[&str]) -> String {
        let b = self.next();
        if b < 200 && !words.is_empty() {
            return words[usize::from(b) % words.len()].to_string();
        }
        let n = usize::from(self.next() % 40);
        let raw: Vec<u8> = (0..n).map(|_| self.next()).collect();
        String::from_utf8_lossy(&raw).into_owned()
    }
}

/// The words of one upstream API: its keys and the string values worth trying.
pub struct Words<'w> {
    /// Object keys.
    pub keys: &'w [&'w str],
    /// String values.
    pub strings: &'w [&'w str],
}

/// A JSON value at most `depth` deep, objects and arrays at most 6 wide.
pub fn value(b: &mut Bytes, w: &Words, depth: u8) -> Value {
    if b.done() {
        return Value::Null;
    }
    let kind = b.next() % 9;
    match kind {
        0 => Value::Null,
        1 => Value::Bool(b.next() & 1 == 1),
        2 => {
            let n = i64::from_le_bytes([b.next(), b.next(), b.next(), b.next(), 0, 0, 0, b.next()]);
            Value::Number(n.into())
        }
        3 => Number::from_f64(f64::from(b.next()) / 3.0 - 20.0).map_or(Value::Null, Value::Number),
        4 | 5 if depth > 0 => {
            let mut m = Map::new();
            for _ in 0..b.next() % 7 {
                let k = b.string(w.keys);
                m.insert(k, value(b, w, depth - 1));
            }
            Value::Object(m)
        }
        6 if depth > 0 => Value::Array((0..b.next() % 7).map(|_| value(b, w, depth - 1)).collect()),
        _ => Value::String(b.string(w.strings)),
    }
}

/// A document from `data`: the bytes parsed as JSON text if the first byte says so (and they
/// are JSON), else built by [`value`] (an object at the top, as APIs answer).
pub fn document(data: &[u8], w: &Words) -> Value {
    match data.split_first() {
        Some((first, rest)) if first & 0x80 != 0 => {
            serde_json::from_slice(rest).unwrap_or(Value::Null)
        }
        Some((_, rest)) => {
            let mut b = Bytes::new(rest);
            let mut m = Map::new();
            while !b.done() && m.len() < 12 {
                let k = b.string(w.keys);
                m.insert(k, value(&mut b, w, 5));
            }
            Value::Object(m)
        }
        None => Value::Null,
    }
}

/// Every string in `v`, keys included.
pub fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                strings(x, out);
            }
        }
        _ => {}
    }
}
