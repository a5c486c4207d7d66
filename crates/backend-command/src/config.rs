//! The command backend's `[bmc.command]` table: a program for every operation (`run`) or one per
//! operation, how to run them, and their time limit.

use crate::{CommandBackend, CommandConfig, Op};
use backend_config::{
    BackendSettings, BmcContext, ConfigError, Kind, LongestCall, Resources, Spanned,
};
use ipmi_bmc::Backend;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A program is killed after this long unless `timeout_ms` says otherwise. Below the request
/// deadline (10 s), so that a hung program is killed, with its children, and reported as such
/// before the client's request is given up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(8);
/// At most this many bytes of each output are kept unless `max_output` says otherwise.
pub const DEFAULT_MAX_OUTPUT: usize = 64 * 1024;

/// `[bmc.command]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandToml {
    run: Option<Vec<String>>,
    status: Option<Vec<String>>,
    on: Option<Vec<String>>,
    off: Option<Vec<String>>,
    cycle: Option<Vec<String>>,
    reset: Option<Vec<String>>,
    soft: Option<Vec<String>>,
    diag: Option<Vec<String>>,
    boot: Option<Vec<String>>,
    console: Option<Vec<String>>,
    #[serde(default)]
    shell: bool,
    timeout_ms: Option<Spanned<u64>>,
    max_output: Option<usize>,
}

/// The command backend kind.
pub struct CommandKind;

impl Kind for CommandKind {
    const NAME: &'static str = "command";
    const NEEDS: Option<&'static str> = Some("the programs");
    type Table = CommandToml;
    type Settings = CommandConfig;

    fn configure(
        &self,
        cx: &BmcContext,
        table: Option<&Spanned<CommandToml>>,
    ) -> Result<CommandConfig, ConfigError> {
        let t = table.expect("NEEDS a table");
        let (src, span, t) = (cx.src, t.span(), t.get_ref());
        let mut ops = BTreeMap::new();
        let given = [
            (Op::Status, &t.status),
            (Op::On, &t.on),
            (Op::Off, &t.off),
            (Op::Cycle, &t.cycle),
            (Op::Reset, &t.reset),
            (Op::Soft, &t.soft),
            (Op::Diag, &t.diag),
            (Op::Boot, &t.boot),
        ];
        for (op, argv) in given {
            if let Some(argv) = argv {
                if argv.is_empty() || argv[0].is_empty() {
                    return Err(src.err(
                        span.clone(),
                        format!("[bmc.command] {} must name a program", op.name()),
                    ));
                }
                ops.insert(op, argv.clone());
            }
        }
        if t.console
            .as_ref()
            .is_some_and(|c| c.is_empty() || c[0].is_empty())
        {
            return Err(src.err(span.clone(), "[bmc.command] console must name a program"));
        }
        if t.run.as_ref().is_some_and(|r| r.is_empty()) {
            return Err(src.err(span.clone(), "[bmc.command] run must name a program"));
        }
        if ops.is_empty() && t.run.is_none() && t.console.is_none() {
            return Err(src.err(
                span,
                "[bmc.command] names no program (run, status, on, off, ...)",
            ));
        }
        Ok(CommandConfig {
            bmc: cx.name.to_string(),
            run: t.run.clone(),
            ops,
            console: t.console.clone(),
            shell: t.shell,
            timeout: t
                .timeout_ms
                .as_ref()
                .map_or(DEFAULT_TIMEOUT, |ms| Duration::from_millis(*ms.get_ref()))
                .max(Duration::from_millis(10)),
            max_output: t
                .max_output
                .unwrap_or(DEFAULT_MAX_OUTPUT)
                .clamp(1, 16 << 20),
        })
    }

    /// One program per call, killed at its timeout.
    fn longest_call(
        &self,
        table: Option<&Spanned<CommandToml>>,
        settings: &CommandConfig,
    ) -> Option<LongestCall> {
        Some(LongestCall {
            time: settings.timeout,
            setting: "timeout_ms",
            at: table.and_then(|t| t.get_ref().timeout_ms.as_ref().map(|ms| ms.span())),
        })
    }
}

impl BackendSettings for CommandConfig {
    fn describe(&self) -> String {
        format!(
            "command ({} programs, timeout {:?})",
            self.ops.len() + usize::from(self.run.is_some()),
            self.timeout
        )
    }

    fn build(&self, _: &mut Resources) -> Result<Arc<dyn Backend>, String> {
        Ok(Arc::new(CommandBackend::new(self.clone())))
    }
}
