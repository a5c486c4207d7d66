//! Secrets (passwords, keys, tokens) from the environment or a file: never from the
//! configuration text itself, and straight into zeroized memory.

use crate::source::{ConfigError, Source};
use ipmi_proto::session::Secret;
use toml::Spanned;

/// Reads a secret from the environment variable or the file named, at most one of which may be
/// given (`what` names them in errors: `{what}_env`, `{what}_file`); `None` if neither is.
pub fn secret_from(
    src: &Source,
    what: &str,
    env: Option<&Spanned<String>>,
    file: Option<&Spanned<String>>,
) -> Result<Option<Secret>, ConfigError> {
    match (env, file) {
        (Some(_), Some(f)) => Err(src.err(
            f.span(),
            format!("give {what}_env or {what}_file, not both"),
        )),
        (Some(e), None) => std::env::var(e.get_ref())
            .map(|v| Some(Secret::new(v.into_bytes())))
            .map_err(|_| {
                src.err(
                    e.span(),
                    format!("environment variable {} is not set", e.get_ref()),
                )
            }),
        (None, Some(f)) => Ok(Some(Secret::new(read_secret_file(src, f)?))),
        (None, None) => Ok(None),
    }
}

/// The contents of a secret file (relative to the configuration's directory), without the
/// line ending at its end. The caller wraps them in zeroized memory at once.
pub fn read_secret_file(src: &Source, f: &Spanned<String>) -> Result<Vec<u8>, ConfigError> {
    let path = src.path(f.get_ref());
    let mut text = std::fs::read(&path)
        .map_err(|e| src.err(f.span(), format!("cannot read {}: {e}", path.display())))?;
    while text.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        text.pop();
    }
    Ok(text)
}
