//! The backend tables of each `[[bmc]]`, each read by its own kind: the binary's pass reads the
//! BMC's own fields and skips every table named after a backend kind ([`skip_backend_tables`]);
//! each kind reads only its own tables, as its own type, with their places in the text kept for
//! errors. The text is parsed once into a document whose `[bmc.NAME]` entries are handed to
//! their kinds one by one ([`of_entry`]); [`of_kind`] reads a kind's tables from the text
//! itself, in a pass of its own (for files of unusual shape, and as the reference the
//! document's reading matches).

use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, IntoDeserializer, MapAccess,
    SeqAccess, Visitor,
};
use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;
use toml::Spanned;

/// One BMC's table of one kind, as the kind deserialized it.
pub struct Table {
    span: Range<usize>,
    value: Box<dyn Any + Send + Sync>,
}

impl Table {
    /// Where the table is in the text.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The table as the kind's type `T` (with its place), if it is one.
    pub fn get<T: 'static>(&self) -> Option<&Spanned<T>> {
        self.value.downcast_ref::<Spanned<T>>()
    }
}

/// One `[bmc.NAME]` entry of a `[[bmc]]` table (its key and value, as the document holds them),
/// read as `T` exactly as [`of_kind`] reads it in the whole text: same value, same place, same
/// error (an error inside the entry always has its place, so the tables around it add none).
pub fn of_entry<T: DeserializeOwned + Send + Sync + 'static>(
    key: &toml_edit::Key,
    item: toml_edit::Item,
) -> Result<Table, toml_edit::de::Error> {
    let mut one = toml_edit::Table::new();
    one.insert_formatted(key, item);
    let t = from_table::<EntrySeed<T>>(one)?
        .0
        .expect("the table holds one entry");
    Ok(Table {
        span: t.span(),
        value: Box::new(t),
    })
}

/// `T` read from `table` as if it were a whole document (as `toml::from_str` reads one).
pub fn from_table<T: DeserializeOwned>(table: toml_edit::Table) -> Result<T, toml_edit::de::Error> {
    T::deserialize(toml_edit::de::Deserializer::from(
        toml_edit::DocumentMut::from(table),
    ))
}

/// The value of the only entry of a table, as `Spanned<T>` (what [`BmcSeed`] reads).
struct EntrySeed<T>(Option<Spanned<T>>);

impl<'de, T: DeserializeOwned> serde::Deserialize<'de> for EntrySeed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EntryVisitor(PhantomData))
    }
}

struct EntryVisitor<T>(PhantomData<T>);

impl<'de, T: DeserializeOwned> Visitor<'de> for EntryVisitor<T> {
    type Value = EntrySeed<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a table of one entry")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while map.next_key::<IgnoredAny>()?.is_some() {
            found = Some(map.next_value::<Spanned<T>>()?);
        }
        Ok(EntrySeed(found))
    }
}

/// The `key` table of each `[[bmc]]` in `text`, in order, as `T`; everything else is skipped.
pub fn of_kind<T: DeserializeOwned + Send + Sync + 'static>(
    text: &str,
    key: &str,
) -> Result<Vec<Option<Table>>, toml::de::Error> {
    let found = FileSeed::<T> {
        key,
        _t: PhantomData,
    }
    .deserialize(toml::Deserializer::new(text))?;
    Ok(found
        .into_iter()
        .map(|t| {
            t.map(|t| Table {
                span: t.span(),
                value: Box::new(t),
            })
        })
        .collect())
}

struct FileSeed<'k, T> {
    key: &'k str,
    _t: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for FileSeed<'_, T> {
    type Value = Vec<Option<Spanned<T>>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for FileSeed<'_, T> {
    type Value = Vec<Option<Spanned<T>>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a configuration file")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            if k == "bmc" {
                out = map.next_value_seed(BmcListSeed::<T> {
                    key: self.key,
                    _t: PhantomData,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

struct BmcListSeed<'k, T> {
    key: &'k str,
    _t: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for BmcListSeed<'_, T> {
    type Value = Vec<Option<Spanned<T>>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for BmcListSeed<'_, T> {
    type Value = Vec<Option<Spanned<T>>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of [[bmc]] tables")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(t) = seq.next_element_seed(BmcSeed::<T> {
            key: self.key,
            _t: PhantomData,
        })? {
            out.push(t);
        }
        Ok(out)
    }
}

struct BmcSeed<'k, T> {
    key: &'k str,
    _t: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for BmcSeed<'_, T> {
    type Value = Option<Spanned<T>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for BmcSeed<'_, T> {
    type Value = Option<Spanned<T>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a [[bmc]] table")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(k) = map.next_key::<String>()? {
            if k == self.key {
                found = Some(map.next_value::<Spanned<T>>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Deserializes `T`, a `[[bmc]]` table's own fields (derived *without*
/// `deny_unknown_fields`), skipping the tables named in `kinds` (each kind reads its own). A key
/// that is neither among `fields` nor in `kinds` is refused as serde's derive refuses an unknown
/// field, at the key's place, listing `expected` (the fields and the kinds, as the file may give
/// them).
pub fn skip_backend_tables<'de, D, T>(
    d: D,
    fields: &'static [&'static str],
    kinds: &[&str],
    expected: &'static [&'static str],
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    d.deserialize_map(SkipVisitor {
        keys: Keys {
            fields,
            kinds,
            expected,
        },
        _t: PhantomData,
    })
}

#[derive(Clone, Copy)]
struct Keys<'k> {
    fields: &'static [&'static str],
    kinds: &'k [&'k str],
    expected: &'static [&'static str],
}

struct SkipVisitor<'k, T> {
    keys: Keys<'k>,
    _t: PhantomData<T>,
}

impl<'de, T: serde::Deserialize<'de>> Visitor<'de> for SkipVisitor<'_, T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a [[bmc]] table")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(serde::de::value::MapAccessDeserializer::new(Skipping {
            map,
            keys: self.keys,
            skip_value: false,
        }))
    }
}

/// The map of a `[[bmc]]` table as `T` sees it: the backend tables are handed to `T` as keys
/// it ignores, with a unit for their values (the real values are skipped here).
struct Skipping<'k, A> {
    map: A,
    keys: Keys<'k>,
    /// The key just read named a backend table: skip its value.
    skip_value: bool,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Skipping<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        // The key is checked while the deserializer reads it, so that an error points at it.
        self.map.next_key_seed(KeySeed {
            inner: seed,
            keys: self.keys,
            skip_value: &mut self.skip_value,
        })
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        if std::mem::take(&mut self.skip_value) {
            self.map.next_value::<IgnoredAny>()?;
            return seed.deserialize(().into_deserializer());
        }
        self.map.next_value_seed(seed)
    }
}

struct KeySeed<'k, 's, K> {
    inner: K,
    keys: Keys<'k>,
    skip_value: &'s mut bool,
}

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, '_, K> {
    type Value = K::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<K::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, K: DeserializeSeed<'de>> Visitor<'de> for KeySeed<'_, '_, K> {
    type Value = K::Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<K::Value, E> {
        if self.keys.kinds.contains(&key) {
            *self.skip_value = true;
        } else if !self.keys.fields.contains(&key) {
            return Err(E::unknown_field(key, self.keys.expected));
        }
        self.inner.deserialize(key.into_deserializer())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct Own {
        name: String,
    }

    struct Bmc(Own);

    impl<'de> Deserialize<'de> for Bmc {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            skip_backend_tables(d, &["name"], &["a", "b"], &["name", "a", "b"]).map(Bmc)
        }
    }

    #[derive(Deserialize)]
    struct File {
        bmc: Vec<Bmc>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct A {
        x: u32,
    }

    const TEXT: &str =
        "[[bmc]]\nname = \"one\"\n[bmc.a]\nx = 1\n[[bmc]]\nname = \"two\"\nb = { y = 2 }\n";

    #[test]
    fn each_pass_reads_its_own() {
        let f: File = toml::from_str(TEXT).unwrap();
        assert_eq!(f.bmc[1].0.name, "two");
        let a = of_kind::<A>(TEXT, "a").unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(
            a[0].as_ref().unwrap().get::<A>().unwrap().get_ref(),
            &A { x: 1 }
        );
        assert_eq!(&TEXT[a[0].as_ref().unwrap().span()], "[bmc.a]\nx = 1");
        assert!(a[1].is_none());
    }

    #[test]
    fn an_entry_reads_as_in_the_whole_text() {
        let take = |text: &str, i: usize| {
            let mut root = toml_edit::ImDocument::parse(text).unwrap().into_table();
            let bmcs = root["bmc"].as_array_of_tables_mut().unwrap();
            let (k, v) = bmcs.get_mut(i).unwrap().remove_entry("a").unwrap();
            of_entry::<A>(&k, v)
        };
        let t = take(TEXT, 0).unwrap();
        assert_eq!(t.get::<A>().unwrap().get_ref(), &A { x: 1 });
        assert_eq!(&TEXT[t.span()], "[bmc.a]\nx = 1");
        let inline = "[[bmc]]\nname = \"one\"\na = { x = 2 }\n";
        let whole = of_kind::<A>(inline, "a").unwrap();
        let t = take(inline, 0).unwrap();
        assert_eq!(t.span(), whole[0].as_ref().unwrap().span());
        assert_eq!(t.get::<A>().unwrap().get_ref(), &A { x: 2 });
        for bad in [
            TEXT.replace("x = 1", "x = 1\nz = 2"),
            TEXT.replace("x = 1", "x = \"one\""),
            TEXT.replace("x = 1", "y = 1"),
            inline.replace("x = 2", "x = -2"),
            inline.replace("{ x = 2 }", "3"),
        ] {
            let whole = of_kind::<A>(&bad, "a").err().unwrap();
            let one = take(&bad, 0).err().unwrap();
            assert_eq!(
                (one.message(), one.span()),
                (whole.message(), whole.span()),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_refused_where_they_are() {
        let text = "[[bmc]]\nname = \"one\"\ncolour = 1\n";
        let e = toml::from_str::<File>(text).err().unwrap();
        assert_eq!(e.span(), Some(21..27));
        assert_eq!(
            e.message(),
            "unknown field `colour`, expected one of `name`, `a`, `b`"
        );
        let e = of_kind::<A>(&TEXT.replace("x = 1", "x = 1\nz = 2"), "a")
            .err()
            .unwrap();
        assert!(e.message().starts_with("unknown field `z`"), "{e}");
    }
}
