//! The field names serde's derive gives a struct, so that a table read in several passes can
//! accept another pass's keys without listing them twice.

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

/// The names of `T`'s fields, in declaration order, as its derived `Deserialize` passes them to
/// `deserialize_struct` (`T` must be a struct with named fields).
pub(super) fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Capture(&mut fields));
    assert!(!fields.is_empty(), "not a struct with named fields");
    fields
}

/// A deserializer that only records the fields a struct asks for, then gives up.
struct Capture<'c>(&'c mut &'static [&'static str]);

impl<'de> Deserializer<'de> for Capture<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only structs are captured"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("captured"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Two {
        first: u8,
        #[serde(default)]
        second: Option<String>,
    }

    #[test]
    fn names_in_declaration_order() {
        assert_eq!(field_names::<Two>(), ["first", "second"]);
    }
}
