//! The configuration text, parsed once. Three kinds of pass read it: the file's own tables
//! ([`FileToml`]), the session settings of every `[[bmc]]` and `[[metal_discovery]]`
//! ([`FileSessions`]), and each backend kind its own `[bmc.NAME]` tables. Each pass is given the
//! part of the document it reads, moved out of it: every `[[bmc]]` table gives its kinds' entries
//! to their kinds and its session keys to the session pass, then the rest of the document to the
//! file's pass, which took those keys as known and skipped their values. So every pass meets the
//! same values, in the same order, as it would in the whole text, and gives the same first
//! error at the same place; of the passes' errors the first in the text is reported.
//!
//! A file whose `bmc` or `metal_discovery` is not an array of tables (an inline array, a plain
//! value: rare, and then mostly a mistake) is read as before, each pass parsing the text itself
//! ([`read_pass_by_pass`]), so that its errors too stay what they were.

use super::session::{self, FileSessions, SessionToml};
use super::{FileToml, Read};
use crate::kinds::KINDS;
use backend_config::tables::{from_table, Table};
use backend_config::toml_edit::{self, de, ImDocument, Item};
use backend_config::{ConfigError, Source};

/// The file's own tables, the session settings of each `[[bmc]]` and `[[metal_discovery]]`,
/// and each kind's tables of every `[[bmc]]` (by kind, then by BMC). A TOML error is reported as
/// one pass over it all would have: the first in the text.
pub(super) fn read(src: &Source) -> Result<Read, ConfigError> {
    let doc = ImDocument::parse(src.text()).map_err(|e| src.document_err(&e.into()))?;
    let mut root = doc.into_table();
    let listed = |key: &str| root.get(key).is_none_or(Item::is_array_of_tables);
    if !listed("bmc") || !listed("metal_discovery") {
        return read_pass_by_pass(src);
    }
    let mut sessions = Pass::new(FileSessions {
        bmc: Vec::new(),
        metal_discovery: Vec::new(),
    });
    let mut by_kind: Vec<Pass<Vec<Option<Table>>>> =
        KINDS.iter().map(|_| Pass::new(Vec::new())).collect();
    // The session pass reads the two lists in the order the file has them.
    let lists: Vec<String> = root
        .iter()
        .map(|(k, _)| k)
        .filter(|k| *k == "bmc" || *k == "metal_discovery")
        .map(str::to_string)
        .collect();
    for list in &lists {
        let tables = root[list.as_str()]
            .as_array_of_tables_mut()
            .expect("checked above");
        for table in tables.iter_mut() {
            if list == "bmc" {
                for (kind, pass) in KINDS.iter().zip(&mut by_kind) {
                    let entry = table.remove_entry(kind.name());
                    pass.read(|found| {
                        found.push(match entry {
                            Some((key, item)) => Some(kind.table(&key, item)?),
                            None => None,
                        });
                        Ok(())
                    });
                }
            }
            let mut own = toml_edit::Table::new();
            for name in session::fields() {
                if let Some((key, item)) = table.remove_entry(name) {
                    own.insert_formatted(&key, item);
                }
            }
            sessions.read(|s| {
                let list = if list == "bmc" {
                    &mut s.bmc
                } else {
                    &mut s.metal_discovery
                };
                list.push(from_table::<SessionToml>(own)?);
                Ok(())
            });
        }
    }
    let own = from_table::<FileToml>(root);
    let first = own
        .as_ref()
        .err()
        .into_iter()
        .chain(sessions.failed.as_ref())
        .chain(by_kind.iter().filter_map(|p| p.failed.as_ref()))
        .min_by_key(|e| e.span().map_or(0, |s| s.start));
    if let Some(e) = first {
        return Err(src.document_err(e));
    }
    let own = own.expect("no error");
    Ok((
        own,
        sessions.read,
        by_kind.into_iter().map(|p| p.read).collect(),
    ))
}

/// What one pass has read so far, and its first error: after it the pass reads no further, as
/// a pass over the text stops there.
struct Pass<T> {
    read: T,
    failed: Option<de::Error>,
}

impl<T> Pass<T> {
    fn new(read: T) -> Self {
        Pass { read, failed: None }
    }

    fn read(&mut self, f: impl FnOnce(&mut T) -> Result<(), de::Error>) {
        if self.failed.is_none() {
            self.failed = f(&mut self.read).err();
        }
    }
}

/// [`read`] with every pass parsing the text itself.
pub(super) fn read_pass_by_pass(src: &Source) -> Result<Read, ConfigError> {
    let own = toml::from_str::<FileToml>(src.text());
    let sessions = toml::from_str::<FileSessions>(src.text());
    let by_kind: Vec<_> = KINDS.iter().map(|k| k.tables(src.text())).collect();
    let first = own
        .as_ref()
        .err()
        .into_iter()
        .chain(sessions.as_ref().err())
        .chain(by_kind.iter().filter_map(|r| r.as_ref().err()))
        .min_by_key(|e| e.span().map_or(0, |s| s.start));
    if let Some(e) = first {
        return Err(src.toml_err(e));
    }
    let own = own.expect("no error");
    let sessions = sessions.expect("no error");
    let by_kind = by_kind.into_iter().map(|r| r.expect("no error")).collect();
    Ok((own, sessions, by_kind))
}
