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
}

impl<'a> Source<'a> {
    /// The text of `file`; relative paths in it are relative to `dir`.
    pub fn new(file: &'a str, text: &'a str, dir: &Path) -> Self {
        Source {
            file,
            text,
            dir: dir.to_path_buf(),
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

    /// An error at `span` (a byte range of the text): `FILE:LINE:COL: msg`.
    pub fn err(&self, span: Range<usize>, msg: impl fmt::Display) -> ConfigError {
        let upto = &self.text[..span.start.min(self.text.len())];
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
