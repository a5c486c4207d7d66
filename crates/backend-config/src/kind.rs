//! A backend kind: its `[bmc.NAME]` table, validated into settings that describe themselves,
//! state the longest one call can take, and build the backend.

use crate::resources::Resources;
use crate::source::{ConfigError, Source};
use crate::tables::{self, Table};
use ipmi_bmc::routing::Operation;
use ipmi_bmc::Backend;
use serde::de::DeserializeOwned;
use std::any::Any;
use std::ops::Range;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use toml::Spanned;

/// How long the server waits for a backend operation before answering the client 0xC3 (the
/// client's own timeout is usually shorter; it retransmits meanwhile). Every backend's own time
/// limits must keep one call below it ([`Kind::longest_call`]), so that a backend ends its own
/// work, cleans up and says why, rather than being dropped midway.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

/// The BMC whose backend is being configured.
pub struct BmcContext<'a> {
    /// The configuration text, for errors and relative paths.
    pub src: &'a Source<'a>,
    /// The BMC's name.
    pub name: &'a str,
    /// Where its `[[bmc]]` table is (errors about the whole table point there).
    pub span: Range<usize>,
    /// The process's state directory, for a backend that keeps files of its own there.
    pub state_dir: Option<&'a std::path::Path>,
}

/// The longest one call of a backend can take with its settings, and the setting that decides it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongestCall {
    /// How long one call may take at most.
    pub time: Duration,
    /// The setting (or settings) that make it so, as the error names them: `deadline_ms`.
    pub setting: &'static str,
    /// Where the setting is written; `None` if it is the default.
    pub at: Option<Range<usize>>,
}

impl LongestCall {
    /// Refuses a call that could outlast [`REQUEST_DEADLINE`]; `table` names where the setting
    /// belongs (`[bmc.command]`) and `fallback` is where to point if the setting is a default.
    pub fn check(
        &self,
        src: &Source,
        table: &str,
        fallback: Range<usize>,
    ) -> Result<(), ConfigError> {
        if self.time < REQUEST_DEADLINE {
            return Ok(());
        }
        Err(src.err(
            self.at.clone().unwrap_or(fallback),
            format!(
                "{table} {}: one call may take {:?}, which must stay below the request deadline of {:?} (then the client gets 0xC3)",
                self.setting, self.time, REQUEST_DEADLINE
            ),
        ))
    }
}

/// A backend's validated settings.
pub trait BackendSettings: Send + Sync + 'static {
    /// The backend with its target, for `check-config` and `list`.
    fn describe(&self) -> String;

    /// The machine's identity at its provider, for `list` (the Metal device id); `None` if the
    /// backend has none.
    fn device(&self) -> Option<&str> {
        None
    }

    /// Whether the backend can carry out `op` at all, or why not (with what to do instead). An
    /// operation it cannot do answers "not supported", so that a route moves on to its next
    /// backend; the loader refuses a BMC whose route for the power status has no backend that
    /// can read it, since every client asks for it.
    fn supports(&self, _op: Operation) -> Result<(), String> {
        Ok(())
    }

    /// Builds the backend, with its start-up steps (background tasks, shared clients from
    /// `shared`). Runs inside the tokio runtime, in the BMC's tracing span.
    fn build(&self, shared: &mut Resources) -> Result<Arc<dyn Backend>, String>;

    /// What in these settings is weaker than the defaults (plain-http endpoints, relay rules
    /// forced past their checks, suites without integrity towards a BMC behind), one sentence
    /// each saying what it exposes: logged as warnings when the BMC starts and printed by
    /// `check-config`. None by default.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// One backend of a BMC, configured: its kind and settings.
#[derive(Clone)]
pub struct BackendConfig {
    kind: &'static str,
    settings: Arc<dyn BackendSettings>,
    /// The same settings, to be looked at as their own type.
    any: Arc<dyn Any + Send + Sync>,
}

impl BackendConfig {
    /// The settings of a backend of kind `kind`.
    pub fn new<S: BackendSettings>(kind: &'static str, settings: S) -> Self {
        let settings = Arc::new(settings);
        BackendConfig {
            kind,
            settings: settings.clone(),
            any: settings,
        }
    }

    /// The settings of a backend of kind `K`.
    pub fn of<K: Kind>(settings: K::Settings) -> Self {
        Self::new(K::NAME, settings)
    }

    /// The backend's name as `backend` and `[bmc.routes]` give it.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// See [`BackendSettings::describe`].
    pub fn describe(&self) -> String {
        self.settings.describe()
    }

    /// See [`BackendSettings::device`].
    pub fn device(&self) -> Option<&str> {
        self.settings.device()
    }

    /// See [`BackendSettings::warnings`].
    pub fn warnings(&self) -> Vec<String> {
        self.settings.warnings()
    }

    /// See [`BackendSettings::supports`].
    pub fn supports(&self, op: Operation) -> Result<(), String> {
        self.settings.supports(op)
    }

    /// See [`BackendSettings::build`].
    pub fn build(&self, shared: &mut Resources) -> Result<Arc<dyn Backend>, String> {
        self.settings.build(shared)
    }

    /// The settings as their own type, if they are an `S`.
    pub fn settings<S: 'static>(&self) -> Option<&S> {
        self.any.downcast_ref::<S>()
    }
}

/// A backend kind, as its crate declares it. Every `Kind` is a [`BackendKind`], which is what
/// the binary's list of kinds holds.
pub trait Kind: Sync + 'static {
    /// Its name in `backend = "..."`, `[bmc.NAME]` and `[bmc.routes]`.
    const NAME: &'static str;
    /// What its table must give, for the error when a BMC uses the kind without a table
    /// ("backend "ssh" needs a [bmc.ssh] table (host, key_file, known_hosts)"); `None` if the
    /// table may be left out, all defaults.
    const NEEDS: Option<&'static str>;
    /// The `[bmc.NAME]` table (use `#[serde(deny_unknown_fields)]`, and [`Spanned`] for what
    /// errors point at).
    type Table: DeserializeOwned + Send + Sync + 'static;
    /// The validated settings.
    type Settings: BackendSettings;

    /// Validates the table (`None` only if [`Kind::NEEDS`] is `None` and it was left out).
    fn configure(
        &self,
        cx: &BmcContext,
        table: Option<&Spanned<Self::Table>>,
    ) -> Result<Self::Settings, ConfigError>;

    /// The longest one call can take with these settings (timeouts × tries, command time limits,
    /// deadlines), which the loader requires to stay below [`REQUEST_DEADLINE`]; `None` for a
    /// backend that never waits on anything.
    fn longest_call(
        &self,
        table: Option<&Spanned<Self::Table>>,
        settings: &Self::Settings,
    ) -> Option<LongestCall>;

    /// Lets the kind take the process over before anything else runs, and end it with this
    /// exit code (the ssh backend's askpass helper: ssh runs this program to get a password).
    fn helper_main(&self) -> Option<ExitCode> {
        None
    }
}

/// A backend kind configured for one BMC.
pub struct Configured {
    /// The backend's settings.
    pub backend: BackendConfig,
    /// The longest one call can take, if it waits on anything; `at` points at the setting, or at
    /// the table (or the `[[bmc]]`) for a default.
    pub longest_call: Option<LongestCall>,
}

/// A backend kind as the binary's list holds it (implemented by every [`Kind`]).
pub trait BackendKind: Sync {
    /// See [`Kind::NAME`].
    fn name(&self) -> &'static str;

    /// This kind's table of each `[[bmc]]` of the configuration text, in order; only TOML
    /// errors (syntax, unknown fields, wrong types) here.
    fn tables(&self, text: &str) -> Result<Vec<Option<Table>>, toml::de::Error>;

    /// This kind's table of one `[[bmc]]`, given as its entry in the parsed document (key
    /// `[bmc.NAME]` and value), read as [`BackendKind::tables`] reads it in the text.
    fn table(
        &self,
        key: &toml_edit::Key,
        item: toml_edit::Item,
    ) -> Result<Table, toml_edit::de::Error>;

    /// Validates one BMC's table (from [`BackendKind::tables`] or [`BackendKind::table`];
    /// `None` if it has none).
    fn configure(&self, cx: &BmcContext, table: Option<&Table>) -> Result<Configured, ConfigError>;

    /// See [`Kind::helper_main`].
    fn helper_main(&self) -> Option<ExitCode>;
}

impl<K: Kind> BackendKind for K {
    fn name(&self) -> &'static str {
        K::NAME
    }

    fn tables(&self, text: &str) -> Result<Vec<Option<Table>>, toml::de::Error> {
        tables::of_kind::<K::Table>(text, K::NAME)
    }

    fn table(
        &self,
        key: &toml_edit::Key,
        item: toml_edit::Item,
    ) -> Result<Table, toml_edit::de::Error> {
        tables::of_entry::<K::Table>(key, item)
    }

    fn configure(&self, cx: &BmcContext, table: Option<&Table>) -> Result<Configured, ConfigError> {
        let typed = table.and_then(|t| t.get::<K::Table>());
        if typed.is_none() {
            if let Some(what) = K::NEEDS {
                return Err(cx.src.err(
                    cx.span.clone(),
                    format!(
                        "backend {:?} needs a [bmc.{}] table ({what})",
                        K::NAME,
                        K::NAME
                    ),
                ));
            }
        }
        let settings = Kind::configure(self, cx, typed)?;
        let longest_call = self.longest_call(typed, &settings).map(|mut l| {
            if l.at.is_none() {
                l.at = Some(typed.map_or(cx.span.clone(), |t| t.span()));
            }
            l
        });
        Ok(Configured {
            backend: BackendConfig::of::<K>(settings),
            longest_call,
        })
    }

    fn helper_main(&self) -> Option<ExitCode> {
        Kind::helper_main(self)
    }
}
