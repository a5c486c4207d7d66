//! The `[admin]` table: the admin HTTP server (status page, admin API, health, metrics). Off
//! unless `listen` is set; then a bearer token is required, from `token_env` or `token_file`
//! (read straight into zeroized memory, as every other secret), and `open` names the paths served
//! without it (only those in [`OPENABLE`]); `hosts` names the host names requests may carry in
//! `Host` besides addresses, localhost names and the machine's own name (against DNS
//! rebinding: see `crate::admin`). A second, read-only token (`viewer_token_env` or
//! `viewer_token_file`) may look at everything and change nothing; `console_input = true` lets
//! the holder of the first token type into a console from the status page. `[admin.refresh_ms]`
//! sets how often each backend kind's power state is read in the background for the page
//! (the `power_refresh` module; 0: never).
//!
//! ```toml
//! [admin]
//! listen = "127.0.0.1:9623"
//! token_file = "admin-token"
//! viewer_token_file = "viewer-token"
//! open = ["healthz", "metrics"]
//! hosts = ["shim.example.net"]
//! console_input = true
//! [admin.refresh_ms]
//! sim = 1000
//! metal = 60000
//! ```

use backend_config::{secret_from, ConfigError, Source};
use ipmi_proto::session::Secret;
use serde::Deserialize;
use std::net::SocketAddr;
use toml::Spanned;

/// The paths that `open` may name (without their leading `/`): what a monitoring system scrapes
/// without credentials. Everything else always needs the token.
pub const OPENABLE: &[&str] = &["healthz", "metrics"];

/// The admin server's settings.
#[derive(Clone, Debug)]
pub struct AdminConfig {
    /// Where it listens (TCP).
    pub listen: SocketAddr,
    /// The bearer token every request but the open ones must carry: it may do everything.
    pub token: Secret,
    /// A read-only token: every `GET`, the live console without typing, no action.
    pub viewer_token: Option<Secret>,
    /// Whether the holder of [`AdminConfig::token`] may type into a console from the page.
    pub console_input: bool,
    /// How often the power state of each backend kind is read in the background.
    pub refresh: super::RefreshIntervals,
    /// The paths served without the token (each one of [`OPENABLE`], without its `/`).
    pub open: Vec<String>,
    /// Host names requests may name in `Host`, besides addresses, localhost names and the
    /// machine's own name.
    pub hosts: Vec<String>,
    /// What is weaker than it should be (a short token).
    pub warnings: Vec<String>,
}

/// A token shorter than this is warned about: 16 random characters or more cannot be guessed.
const MIN_TOKEN: usize = 16;

/// The `[admin]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AdminToml {
    listen: Option<Spanned<String>>,
    token_env: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
    #[serde(default)]
    open: Vec<Spanned<String>>,
    #[serde(default)]
    hosts: Vec<Spanned<String>>,
    viewer_token_env: Option<Spanned<String>>,
    viewer_token_file: Option<Spanned<String>>,
    #[serde(default)]
    console_input: bool,
    #[serde(default)]
    refresh_ms: std::collections::BTreeMap<String, Spanned<u64>>,
}

/// The TCP address of an HTTP server's `listen` key (`example` in the error).
pub(super) fn listen_address(
    src: &Source,
    listen: &Spanned<String>,
    example: &str,
) -> Result<SocketAddr, ConfigError> {
    listen.get_ref().parse().map_err(|_| {
        src.err(
            listen.span(),
            format!(
                "listen: {:?} is not an address and port (e.g. {example:?})",
                listen.get_ref()
            ),
        )
    })
}

/// The admin server's settings, `None` (off) unless `listen` is set. `span` is the table's.
pub(super) fn admin(
    src: &Source,
    table: Option<&Spanned<AdminToml>>,
) -> Result<Option<AdminConfig>, ConfigError> {
    let Some(table) = table else {
        return Ok(None);
    };
    let t = table.get_ref();
    for p in &t.open {
        if !OPENABLE.contains(&p.get_ref().as_str()) {
            return Err(src.err(
                p.span(),
                format!(
                    "open: unknown path {:?} (may be left open: {})",
                    p.get_ref(),
                    OPENABLE.join(", ")
                ),
            ));
        }
    }
    for h in &t.hosts {
        let name = h.get_ref();
        let ok = !name.is_empty()
            && name.len() <= 253
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !ok {
            return Err(src.err(
                h.span(),
                format!(
                    "hosts: {name:?} is not a host name (letters, digits, '-' and '.'; no port)"
                ),
            ));
        }
    }
    let Some(listen) = &t.listen else {
        return Ok(None);
    };
    let addr = listen_address(src, listen, "127.0.0.1:9623")?;
    let token = secret_from(src, "token", t.token_env.as_ref(), t.token_file.as_ref())?
        .ok_or_else(|| {
            src.err(
                table.span(),
                "[admin] with listen needs a bearer token: token_env or token_file",
            )
        })?;
    let mut warnings = Vec::new();
    let (env, file) = (t.token_env.as_ref(), t.token_file.as_ref());
    check_token(src, &token, "admin", env.or(file), table, &mut warnings)?;
    let viewer_token = secret_from(
        src,
        "viewer_token",
        t.viewer_token_env.as_ref(),
        t.viewer_token_file.as_ref(),
    )?;
    if let Some(v) = &viewer_token {
        let at = t.viewer_token_env.as_ref().or(t.viewer_token_file.as_ref());
        check_token(src, v, "viewer", at, table, &mut warnings)?;
        if *v == token {
            return Err(src.err(
                at.map_or(table.span(), |s| s.span()),
                "the viewer token is the admin token: it would allow everything",
            ));
        }
    }
    let refresh = refresh_intervals(src, &t.refresh_ms)?;
    let mut open: Vec<String> = t.open.iter().map(|p| p.get_ref().clone()).collect();
    open.dedup();
    if !addr.ip().is_loopback() && !open.is_empty() {
        warnings.push(format!(
            "{} served without the token on {addr}, beyond this host",
            open.join(", ")
        ));
    }
    Ok(Some(AdminConfig {
        listen: addr,
        token,
        viewer_token,
        console_input: t.console_input,
        refresh,
        open,
        hosts: t.hosts.iter().map(|h| h.get_ref().clone()).collect(),
        warnings,
    }))
}

/// Refuses an empty token and one an HTTP header cannot carry, and warns of a short one; `at`
/// is where it came from.
fn check_token(
    src: &Source,
    token: &Secret,
    which: &str,
    at: Option<&Spanned<String>>,
    table: &Spanned<AdminToml>,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let at = at.map_or(table.span(), |s| s.span());
    if token.expose().is_empty() {
        // A forgotten variable or an empty file: no request could ever carry it, and the
        // operator meant to set one.
        return Err(src.err(at, format!("the {which} token is empty")));
    }
    if token.expose().len() < MIN_TOKEN {
        warnings.push(format!(
            "the {which} token is shorter than {MIN_TOKEN} bytes: it can be guessed"
        ));
    }
    if !token.expose().iter().all(|b| b.is_ascii_graphic()) {
        // An HTTP header carries visible ASCII only: another token could never be sent.
        return Err(src.err(
            at,
            format!("the {which} token must be visible ASCII characters (no spaces)"),
        ));
    }
    Ok(())
}

/// `[admin.refresh_ms]`: each key a backend kind, each value milliseconds (0: never).
fn refresh_intervals(
    src: &Source,
    table: &std::collections::BTreeMap<String, Spanned<u64>>,
) -> Result<super::RefreshIntervals, ConfigError> {
    let mut intervals = super::RefreshIntervals::default();
    for (kind, ms) in table {
        let Some(k) = crate::kinds::by_name(kind) else {
            return Err(src.err(
                ms.span(),
                format!(
                    "refresh_ms: unknown backend kind {kind:?} (available: {})",
                    crate::kinds::names().join(", ")
                ),
            ));
        };
        intervals.set(k.name(), std::time::Duration::from_millis(*ms.get_ref()));
    }
    Ok(intervals)
}

#[cfg(test)]
mod tests {
    use crate::config::{parse_all, Config, ConfigError};
    use std::path::Path;

    const BMC: &str = "[[bmc]]\nname = \"a\"\nlisten = \"127.0.0.1:6230\"\nbackend = \"sim\"\n[[bmc.users]]\nname = \"admin\"\npassword = \"pw\"\nprivilege = \"administrator\"\n";

    fn load(admin: &str, dir: &Path) -> Result<Config, ConfigError> {
        parse_all("c.toml", &format!("{BMC}{admin}"), dir)
    }

    /// The line of `needle` in the whole text, as errors count them.
    fn line_of(admin: &str, needle: &str) -> usize {
        let text = format!("{BMC}{admin}");
        text[..text.find(needle).unwrap()].matches('\n').count() + 1
    }

    #[test]
    fn admin_table() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "0123456789abcdefXYZ\n").unwrap();
        // Off without the table, and without listen.
        assert!(load("", dir.path()).unwrap().admin.is_none());
        assert!(load("[admin]\nopen = [\"healthz\"]\n", dir.path())
            .unwrap()
            .admin
            .is_none());
        let text = "[admin]\nlisten = \"127.0.0.1:9623\"\ntoken_file = \"tok\"\nopen = [\"healthz\", \"metrics\"]\n";
        let a = load(text, dir.path()).unwrap().admin.unwrap();
        assert_eq!(a.listen, "127.0.0.1:9623".parse().unwrap());
        // The line ending is no part of the token.
        assert_eq!(a.token.expose(), b"0123456789abcdefXYZ");
        assert_eq!(a.open, ["healthz", "metrics"]);

        let cases = [
            (
                "[admin]\nlisten = \"127.0.0.1:9623\"\n",
                "[admin]",
                "needs a bearer token",
            ),
            (
                "[admin]\nlisten = \"localhost\"\ntoken_file = \"tok\"\n",
                "listen = \"localhost",
                "is not an address and port",
            ),
            (
                "[admin]\nlisten = \"127.0.0.1:9623\"\ntoken_file = \"tok\"\nopen = [\"status\"]\n",
                "\"status\"",
                "unknown path \"status\"",
            ),
            (
                "[admin]\nlisten = \"127.0.0.1:9623\"\ntoken_env = \"IPMI_TO_METAL_TEST_UNSET_TOKEN\"\n",
                "token_env",
                "is not set",
            ),
            (
                "[admin]\nlisten = \"127.0.0.1:9623\"\ntoken_env = \"X\"\ntoken_file = \"tok\"\n",
                "token_file",
                "not both",
            ),
            (
                "[admin]\nlisten = \"127.0.0.1:9623\"\ntoken_file = \"missing\"\n",
                "token_file",
                "cannot read",
            ),
            (
                "[admin]\nlisten = \"127.0.0.1:9623\"\ntoken_file = \"tok\"\nhosts = [\"a.example:9623\"]\n",
                "\"a.example:9623",
                "is not a host name",
            ),
            (
                "[admin]\nlisten = \"127.0.0.1:9623\"\ntoken_file = \"tok\"\nport = 1\n",
                "port",
                "unknown field",
            ),
        ];
        for (admin, at, what) in cases {
            let e = load(admin, dir.path()).err().expect(admin).0;
            let line = line_of(admin, at);
            assert!(e.starts_with(&format!("c.toml:{line}:")), "{admin}: {e}");
            assert!(e.contains(what), "{admin}: {e}");
        }
        assert!(a.warnings.is_empty());
        std::fs::write(dir.path().join("short"), "short").unwrap();
        let c = load(
            "[admin]\nlisten = \"0.0.0.0:9623\"\ntoken_file = \"short\"\nopen = [\"metrics\"]\n",
            dir.path(),
        )
        .unwrap();
        let warnings: Vec<String> = c
            .warnings()
            .into_iter()
            .filter(|(who, _)| who == "admin")
            .map(|(who, w)| format!("{who}: {w}"))
            .collect();
        assert_eq!(
            warnings,
            [
                "admin: the admin token is shorter than 16 bytes: it can be guessed",
                "admin: metrics served without the token on 0.0.0.0:9623, beyond this host"
            ]
        );
        std::fs::write(dir.path().join("spaced"), "0123456789 abcdefgh").unwrap();
        let e = load(
            "[admin]\nlisten = \"127.0.0.1:9623\"\ntoken_file = \"spaced\"\n",
            dir.path(),
        )
        .err()
        .unwrap()
        .0;
        assert!(e.contains("visible ASCII"), "{e}");
    }

    #[test]
    fn viewer_token_console_input_and_refresh_intervals() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "0123456789abcdefXYZ\n").unwrap();
        std::fs::write(dir.path().join("view"), "viewer-0123456789abc\n").unwrap();
        let base = "[admin]\nlisten = \"127.0.0.1:9623\"\ntoken_file = \"tok\"\n";
        let a = load(base, dir.path()).unwrap().admin.unwrap();
        assert!(a.viewer_token.is_none() && !a.console_input);
        let defaults = crate::config::RefreshIntervals::default();
        assert_eq!(a.refresh, defaults);
        let text = format!("{base}viewer_token_file = \"view\"\nconsole_input = true\n[admin.refresh_ms]\nsim = 250\nmetal = 0\n");
        let a = load(&text, dir.path()).unwrap().admin.unwrap();
        assert_eq!(a.viewer_token.unwrap().expose(), b"viewer-0123456789abc");
        assert!(a.console_input);
        assert_eq!(
            a.refresh.of("sim"),
            Some(std::time::Duration::from_millis(250))
        );
        assert_eq!(a.refresh.of("metal"), None, "0: never");
        assert_eq!(a.refresh.of("redfish"), defaults.of("redfish"));

        let cases = [
            (
                format!("{base}[admin.refresh_ms]\nsimm = 1\n"),
                "simm",
                "unknown backend kind \"simm\" (available: sim, metal",
            ),
            (
                format!("{base}viewer_token_file = \"tok\"\n"),
                "viewer_token_file",
                "the viewer token is the admin token",
            ),
        ];
        for (admin, at, what) in &cases {
            let e = load(admin, dir.path()).err().expect(admin).0;
            let line = line_of(admin, at);
            assert!(e.starts_with(&format!("c.toml:{line}:")), "{admin}: {e}");
            assert!(e.contains(what), "{admin}: {e}");
        }
    }

    #[test]
    fn an_empty_admin_token_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        // A file with a line ending only, as `echo > token` writes.
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        let text = "[admin]\nlisten = \"127.0.0.1:9623\"\ntoken_file = \"empty\"\n";
        let e = load(text, dir.path()).err().expect("an empty token").0;
        let line = line_of(text, "token_file");
        assert!(e.starts_with(&format!("c.toml:{line}:")), "{e}");
        assert!(e.contains("the admin token is empty"), "{e}");
        // An environment variable set to nothing, the same.
        std::env::set_var("IPMI_TO_METAL_TEST_EMPTY_ADMIN_TOKEN", "");
        let text = "[admin]\nlisten = \"127.0.0.1:9623\"\ntoken_env = \"IPMI_TO_METAL_TEST_EMPTY_ADMIN_TOKEN\"\n";
        let e = load(text, dir.path()).err().expect("an empty token").0;
        assert!(e.contains("the admin token is empty"), "{e}");
    }
}
