//! The configuration text, parsed once. Three kinds of pass read it: the file's own tables
//! ([`FileToml`]), the session settings of every `[[bmc]]` and `[[metal_discovery]]`
//! ([`FileSessions`]), and each backend kind its own `[bmc.NAME]` tables. Each pass is given the
//! part of the document it reads, moved out of it: every `[[bmc]]` table gives its kinds' entries
//! to their kinds and its session keys to the session pass, then the rest of the document to the
//! file's pass, which took those keys as known and skipped their values. So every pass meets the
//! same values, in the same order, as it would in the whole text, and gives the same first
//! error at the same place; of the passes' errors the first in the text is reported.
//!
//! A large file is parsed in parts ([`read_in_parts`]), so that its whole document (some 4 KiB
//! a `[[bmc]]`) is never held at once: the text before the first `[[bmc]]`, then runs of
//! `[[bmc]]` tables cut where a line starts with `[[bmc]]`. A part read on its own means what it
//! means in the whole text as long as each part parses and holds nothing but `[[bmc]]` tables;
//! otherwise (a cut inside a multi-line string, say), and for every error, the whole document is
//! read instead ([`read_whole`]), so that the error is the one the whole text gives.
//!
//! A file whose `bmc` or `metal_discovery` is not an array of tables (an inline array, a plain
//! value: rare, and then mostly a mistake) is read as before, each pass parsing the text itself
//! ([`read_pass_by_pass`]), so that its errors too stay what they were.

use super::bmc::BmcToml;
use super::session::{self, FileSessions, SessionToml};
use super::{FileToml, Read};
use crate::kinds::KINDS;
use backend_config::tables::{from_table, Table};
use backend_config::toml_edit::{self, de, ImDocument, Item};
use backend_config::{ConfigError, Source};
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;

/// The arrays of tables whose tables have session settings: the BMCs and the discoveries.
const LISTS: [&str; 3] = ["bmc", "metal_discovery", "libvirt_discovery"];

/// Parts are cut at the first `[[bmc]]` line past this many bytes of text.
const PART_BYTES: usize = 64 * 1024;

/// The file's own tables, the session settings of each `[[bmc]]` and `[[metal_discovery]]`,
/// and each kind's tables of every `[[bmc]]` (by kind, then by BMC). A TOML error is reported as
/// one pass over it all would have: the first in the text.
pub(super) fn read(src: &Source) -> Result<Read, ConfigError> {
    read_in_small_parts(src, PART_BYTES)
}

/// [`read`] with parts of about `part_bytes` (the last may be smaller).
pub(super) fn read_in_small_parts(src: &Source, part_bytes: usize) -> Result<Read, ConfigError> {
    match read_in_parts(src, part_bytes) {
        Some(read) => Ok(read),
        None => read_whole(src),
    }
}

/// [`read`] with the whole text parsed as one document.
pub(super) fn read_whole(src: &Source) -> Result<Read, ConfigError> {
    let doc = ImDocument::parse(src.text()).map_err(|e| src.document_err(&e.into()))?;
    let mut root = doc.into_table();
    if !LISTS.iter().all(|l| listed(&root, l)) {
        return read_pass_by_pass(src);
    }
    let bmcs = root.get("bmc").and_then(Item::as_array_of_tables);
    let mut read = Passes::new(bmcs.map_or(0, |t| t.len()));
    // The session pass reads the two lists in the order the file has them.
    let lists: Vec<String> = root
        .iter()
        .map(|(k, _)| k)
        .filter(|k| LISTS.contains(k))
        .map(str::to_string)
        .collect();
    for list in &lists {
        let tables = root[list.as_str()]
            .as_array_of_tables_mut()
            .expect("checked above");
        for table in tables.iter_mut() {
            read.split(list, table);
        }
    }
    let own = from_table::<FileToml>(root);
    let first = own
        .as_ref()
        .err()
        .into_iter()
        .chain(read.sessions.failed.as_ref())
        .chain(read.by_kind.iter().filter_map(|p| p.failed.as_ref()))
        .min_by_key(|e| e.span().map_or(0, |s| s.start));
    if let Some(e) = first {
        return Err(src.document_err(e));
    }
    let own = own.expect("no error");
    let bases = vec![0; own.bmc.len()];
    Ok(Read {
        own,
        sessions: read.sessions.read,
        tables: read.by_kind.into_iter().map(|p| p.read).collect(),
        bases,
    })
}

/// Whether the file's `key` is absent or an array of tables (`[[key]]`).
fn listed(root: &toml_edit::Table, key: &str) -> bool {
    root.get(key).is_none_or(Item::is_array_of_tables)
}

/// [`read`] part by part (see the module's documentation); `None` where the whole document must
/// be read instead: a part that does not parse or holds more than `[[bmc]]` tables, or any error.
fn read_in_parts(src: &Source, part_bytes: usize) -> Option<Read> {
    let text = src.text();
    let (parts, expected) = parts(text, part_bytes);
    let (head, bmcs) = parts.split_first()?;
    if bmcs.is_empty() {
        return None;
    }
    let mut root = ImDocument::parse(&text[head.clone()]).ok()?.into_table();
    if root.contains_key("bmc") || !LISTS.iter().all(|l| listed(&root, l)) {
        return None;
    }
    let mut read = Passes::new(expected);
    // The discoveries' session settings, in the order the file has the lists.
    let lists: Vec<String> = root
        .iter()
        .map(|(k, _)| k)
        .filter(|k| LISTS.contains(k))
        .map(str::to_string)
        .collect();
    for list in &lists {
        if let Some(tables) = root
            .get_mut(list.as_str())
            .and_then(Item::as_array_of_tables_mut)
        {
            for table in tables.iter_mut() {
                read.split(list, table);
            }
        }
    }
    let mut own = from_table::<FileToml>(root).ok()?;
    own.bmc.reserve_exact(expected);
    let mut bases = Vec::with_capacity(expected);
    for part in bmcs {
        let mut root = ImDocument::parse(&text[part.clone()]).ok()?.into_table();
        if root.len() != 1 || !root.contains_key("bmc") {
            return None;
        }
        let tables = root["bmc"].as_array_of_tables_mut()?;
        for table in tables.iter_mut() {
            read.split("bmc", table);
        }
        let found = from_table::<Bmcs>(root).ok()?.bmc;
        bases.extend(std::iter::repeat_n(part.start, found.len()));
        own.bmc.extend(found);
    }
    if read.sessions.failed.is_some() || read.by_kind.iter().any(|p| p.failed.is_some()) {
        return None;
    }
    Some(Read {
        own,
        sessions: read.sessions.read,
        tables: read.by_kind.into_iter().map(|p| p.read).collect(),
        bases,
    })
}

/// A part of the file that holds `[[bmc]]` tables only.
#[derive(Deserialize)]
struct Bmcs {
    bmc: Vec<Spanned<BmcToml>>,
}

/// The text cut into parts: the text before the first line that starts with `[[bmc]]` (then
/// spaces, a comment or the line's end), then runs of `[[bmc]]` tables of about
/// `part_bytes`, each starting at such a line; and how many such lines there are (about the
/// number of `[[bmc]]` tables, to make room for them).
fn parts(text: &str, part_bytes: usize) -> (Vec<Range<usize>>, usize) {
    let mut cuts = vec![0];
    let mut headers = 0;
    let mut line = 0;
    while line < text.len() {
        let rest = &text[line..];
        if let Some(after) = rest.strip_prefix("[[bmc]]") {
            if after.is_empty() || after.starts_with([' ', '\t', '\r', '\n', '#']) {
                headers += 1;
                let last = *cuts.last().expect("one cut at least");
                if cuts.len() == 1 || line - last >= part_bytes {
                    cuts.push(line);
                }
            }
        }
        line += rest.find('\n').map_or(rest.len(), |i| i + 1);
    }
    cuts.push(text.len());
    (cuts.windows(2).map(|w| w[0]..w[1]).collect(), headers)
}

/// What the session pass and each kind's pass have read so far.
struct Passes {
    sessions: Pass<FileSessions>,
    by_kind: Vec<Pass<Vec<Option<Table>>>>,
}

impl Passes {
    /// For a file of `bmcs` `[[bmc]]` tables, if known.
    fn new(bmcs: usize) -> Passes {
        Passes {
            sessions: Pass::new(FileSessions {
                bmc: Vec::with_capacity(bmcs),
                metal_discovery: Vec::new(),
                libvirt_discovery: Vec::new(),
            }),
            by_kind: KINDS
                .iter()
                .map(|_| Pass::new(Vec::with_capacity(bmcs)))
                .collect(),
        }
    }

    /// Moves a table of list `list` (one of [`LISTS`]) out to its passes: a `[[bmc]]`'s each
    /// kind's entry to the kind, and every table's session keys to the session pass.
    fn split(&mut self, list: &str, table: &mut toml_edit::Table) {
        let bmc = list == "bmc";
        if bmc {
            for (kind, pass) in KINDS.iter().zip(&mut self.by_kind) {
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
        self.sessions.read(|s| {
            let list = match list {
                "bmc" => &mut s.bmc,
                "metal_discovery" => &mut s.metal_discovery,
                _ => &mut s.libvirt_discovery,
            };
            list.push(from_table::<SessionToml>(own)?);
            Ok(())
        });
    }
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
    let bases = vec![0; own.bmc.len()];
    Ok(Read {
        own,
        sessions: sessions.expect("no error"),
        tables: by_kind.into_iter().map(|r| r.expect("no error")).collect(),
        bases,
    })
}
