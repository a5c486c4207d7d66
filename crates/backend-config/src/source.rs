//! Where configuration text comes from, so that every error names the file, line and column.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A configuration error, already formatted as `FILE:LINE:COL: message`.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// A configuration file's name, text and directory, to point errors at their place and to
/// resolve the relative paths it names.
pub struct Source<'a> {
    file: &'a str,
    text: &'a str,
    dir: PathBuf,
    /// Where in the text the places given to [`Source::err`] are counted from.
    base: usize,
}

impl<'a> Source<'a> {
    /// The text of `file`; relative paths in it are relative to `dir`.
    pub fn new(file: &'a str, text: &'a str, dir: &Path) -> Self {
        Source {
            file,
            text,
            dir: dir.to_path_buf(),
            base: 0,
        }
    }

    /// The same source for a part of the text read on its own, starting at byte `base`: the
    /// places in it count from there ([`Source::err`] adds `base`).
    pub fn part_from(&self, base: usize) -> Source<'a> {
        Source {
            file: self.file,
            text: self.text,
            dir: self.dir.clone(),
            base: self.base + base,
        }
    }

    /// The file's name as errors give it.
    pub fn file(&self) -> &'a str {
        self.file
    }

    /// The whole text.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The directory relative paths are resolved against.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A path the file names, relative to its directory unless absolute.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// An error at `span` (a byte range of the text, or of the part [`Source::part_from`]
    /// gave): `FILE:LINE:COL: msg`.
    pub fn err(&self, span: Range<usize>, msg: impl fmt::Display) -> ConfigError {
        let start = self.base.saturating_add(span.start).min(self.text.len());
        let upto = &self.text[..start];
        let line = upto.matches('\n').count() + 1;
        let col = upto.len() - upto.rfind('\n').map_or(0, |i| i + 1) + 1;
        ConfigError(format!("{}:{line}:{col}: {msg}", self.file))
    }

    /// A TOML error (syntax, unknown field, wrong type) at its place, or at the start of the
    /// file when the parser gives none. The parser's message can be empty (a lone carriage
    /// return): then it says "invalid TOML".
    pub fn toml_err(&self, e: &toml::de::Error) -> ConfigError {
        self.toml_at(e.message(), e.span())
    }

    /// [`Source::toml_err`] for an error of the parsed document (`toml_edit`, which `toml`
    /// parses with): the same message at the same place.
    pub fn document_err(&self, e: &toml_edit::de::Error) -> ConfigError {
        self.toml_at(e.message(), e.span())
    }

    fn toml_at(&self, message: &str, span: Option<Range<usize>>) -> ConfigError {
        let msg = match message.trim() {
            "" => "invalid TOML",
            m => m,
        };
        self.err(span.unwrap_or(0..0), msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_counts_its_places_from_its_start() {
        let text = "a = 1\n[[bmc]]\nname = 2\n";
        let src = Source::new("t.toml", text, Path::new("."));
        let part = src.part_from(6);
        assert_eq!(part.err(8..12, "x").0, "t.toml:3:1: x");
        assert_eq!(part.err(8..12, "x").0, src.err(14..18, "x").0);
        assert_eq!(part.part_from(8).err(0..1, "x").0, "t.toml:3:1: x");
        assert_eq!(part.err(999..1000, "x").0, "t.toml:4:1: x");
        assert_eq!(part.dir(), src.dir());
    }
}
