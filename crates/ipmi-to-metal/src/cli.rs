//! The command line: every subcommand and flag with its help, the environment and signals the
//! program heeds (shown by `--help` and in the manual page), shell completions and the manual
//! pages, both generated from this definition so that they cannot drift from it.

use crate::{bench, fake};
use clap::{CommandFactory, Parser, Subcommand};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The environment variables the program reads itself (a configuration file names more: the
/// `*_env` keys).
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "IPMI_TO_METAL_LOG",
        "Log levels and filters (error, warn, info, debug, trace; for example \
         \"info,backend_metal=debug\"). Default info. Logs go to standard error.",
    ),
    (
        LOG_FORMAT_ENV,
        "text or json: how the logs are written (as --log-format; the flag wins).",
    ),
    (
        "LOGS_DIRECTORY",
        "Where the audit log goes (audit.jsonl in it) unless the configuration's [audit] says \
         otherwise (systemd's LogsDirectory= sets it); without either, no audit log.",
    ),
    (
        "IPMI_PASSWORD",
        "serve without --config: the password of user admin (else one is generated and \
         printed). bench: the password, unless --password-env or --password-file says otherwise.",
    ),
    (
        "STATE_DIRECTORY",
        "Where the SEL database and the discovery state files live unless the configuration's \
         state_dir says otherwise (systemd's StateDirectory= sets it).",
    ),
    (
        "POD_NAME, HOSTNAME",
        "shard = \"auto\" in [[metal_discovery]]: the shard index is the trailing -N of the \
         pod's name (POD_NAME first: with host networking HOSTNAME is the node's name).",
    ),
    (
        crate::shard::COUNT_ENV,
        "shard = \"auto\": the number of shards (the StatefulSet's replicas).",
    ),
];

/// What `serve` does on a signal.
pub const SIGNALS: &str = "SIGTERM or SIGINT: stop taking new sessions and requests, let the \
requests in flight be answered (up to 11 s: each is answered within the 10 s request deadline) \
and their clients close their sessions, then exit 0. A second SIGTERM or SIGINT: exit at once \
(status 143 or 130), killing the backends' programs. SIGHUP: read the configuration file again \
and apply what changed (BMCs whose settings did not change keep their sessions); a file that \
does not load, or cannot be applied, is refused and logged, and the configuration in force stays.";

#[derive(Parser)]
#[command(
    name = "ipmi-to-metal",
    version,
    about = "IPMI over LAN for machines without a reachable BMC",
    long_about = "A BMC that isn't one: serves IPMI over LAN (IPMI 1.5 and 2.0/RMCP+) for each \
                  configured machine and carries out every request through a backend (sim, \
                  metal, ssh, command, ipmi). Without a subcommand's flags, `serve` runs one \
                  simulated BMC to try it.",
    after_long_help = long_help_tail()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How the logs on standard error are written: text (for people; coloured on a terminal)
    /// or json (one object per line with the time, level, message, fields and spans, for a
    /// log collector). The audit log is JSON lines either way.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = LOG_FORMAT_ENV,
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,
}

/// The environment variable that may give `--log-format`.
pub const LOG_FORMAT_ENV: &str = "IPMI_TO_METAL_LOG_FORMAT";

/// How the logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Serve every BMC of a configuration file; without one, a single simulated BMC.
    #[command(after_long_help = format!("Signals: {SIGNALS}"))]
    Serve {
        /// The TOML configuration file (see docs/getting-started.md, and every key in
        /// docs/config-reference.md). Errors name the file, line and column, and nothing starts
        /// (exit status 2).
        #[arg(long, short, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Without --config: the address of the simulated BMC (user admin, password from
        /// IPMI_PASSWORD or generated and printed).
        #[arg(long, default_value = "127.0.0.1:6230", value_name = "IP:PORT")]
        listen: SocketAddr,
    },
    /// Check a configuration file and exit: 0 if valid (printing each BMC, its backends and
    /// routes, the state and the discoveries), 2 with the error otherwise.
    CheckConfig {
        /// The TOML configuration file.
        #[arg(value_name = "FILE")]
        config: PathBuf,
    },
    /// List the BMCs a configuration file serves, the discovered ones included (this asks the
    /// Metal API; with shards, only this shard's), with their device, address and backend.
    List {
        /// The TOML configuration file.
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
    /// Load one or many BMCs (any implementation) with concurrent IPMI sessions and report
    /// requests per second, latency percentiles, session set-up rate and errors.
    Bench(bench::BenchArgs),
    /// Serve a fake Equinix Metal API (for demos and tests of the metal backend).
    FakeMetal(fake::FakeArgs),
    /// Echo every UDP datagram back on the server's own runtime: the floor
    /// bench/cpu-per-request.sh measures the server against (hidden: a benchmark's part).
    #[command(hide = true)]
    EchoFloor {
        /// The address to echo on.
        #[arg(long, value_name = "IP:PORT")]
        listen: SocketAddr,
    },
    /// Print a shell completion script to standard output.
    #[command(after_long_help = "For example: ipmi-to-metal completions bash > \
                           /usr/share/bash-completion/completions/ipmi-to-metal")]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to standard output, or write every page to a directory.
    Man {
        /// Write ipmi-to-metal.1 and one page per subcommand (ipmi-to-metal-serve.1, ...) into
        /// this directory instead.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

/// The end of the top-level `--help`: the environment and the signals.
fn long_help_tail() -> String {
    let mut s = String::from("Environment:\n");
    for (name, what) in ENVIRONMENT {
        s.push_str(&format!("  {name}\n          {what}\n"));
    }
    s.push_str(&format!("\nSignals (serve):\n  {SIGNALS}"));
    s
}

/// The command-line definition (for tests, completions and the manual).
pub fn command() -> clap::Command {
    Cli::command()
}

/// Writes the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), "ipmi-to-metal", &mut script);
    if shell == clap_complete::Shell::Bash {
        script = fix_bash_states(&String::from_utf8_lossy(&script)).into_bytes();
    }
    out.write_all(&script)
}

/// clap_complete's bash script names each subcommand's state twice, in the loop that finds it
/// and in the `case` arm that completes it, and for a program name with hyphens spells the
/// arms differently (`ipmi__subcmd__to__subcmd__metal__subcmd__serve` against the loop's
/// `ipmi__to__metal__subcmd__serve`), so no subcommand's flags ever complete
/// (clap-rs/clap#6421, open). The arms are respelled as the loop spells them; once clap
/// fixes it this changes nothing.
fn fix_bash_states(script: &str) -> String {
    script.replace("ipmi__subcmd__to__subcmd__metal", "ipmi__to__metal")
}

/// Writes the top-level manual page: clap's sections, with the environment, the signals and
/// the files as sections of their own (instead of `--help`'s text).
pub fn man_page(out: &mut dyn Write) -> std::io::Result<()> {
    let cmd = command()
        .after_long_help(None::<&str>)
        .disable_help_subcommand(true);
    let man = clap_mangen::Man::new(cmd);
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    writeln!(out, ".SH ENVIRONMENT")?;
    for (name, what) in ENVIRONMENT {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff_text(name), roff_text(what))?;
    }
    writeln!(out, ".SH SIGNALS\n{}", roff_text(SIGNALS))?;
    writeln!(
        out,
        ".SH FILES\n.TP\n\\fB/etc/ipmi\\-to\\-metal/config.toml\\fR\nThe configuration of the \
         packaged service (ipmi\\-to\\-metal.service).\n.TP\n\\fB/var/lib/ipmi\\-to\\-metal\\fR\n\
         Its state directory: the SEL database (sel.redb) and the discovery state files.\n.TP\n\
         \\fB/var/log/ipmi\\-to\\-metal/audit.jsonl\\fR\nIts audit log (LogsDirectory=): one JSON \
         line per state\\-changing request, unless [audit] in the configuration says otherwise."
    )?;
    writeln!(
        out,
        ".SH SEE ALSO\n\\fBipmitool\\fR(1), \\fBipmipower\\fR(8), and the guide of ipmi\\-to\\-metal (its README and docs/)."
    )?;
    man.render_version_section(out)
}

/// Writes the top-level page and one per subcommand into `dir`.
pub fn man_pages_to(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut top = std::fs::File::create(dir.join("ipmi-to-metal.1"))?;
    man_page(&mut top)?;
    let mut cmd = command().disable_help_subcommand(true);
    cmd.build();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        clap_mangen::Man::new(sub.clone())
            .source(format!("ipmi-to-metal {}", env!("CARGO_PKG_VERSION")))
            .generate_to(dir)?;
    }
    Ok(())
}

/// Fixed text made safe for roff: backslashes and hyphens escaped, no line starting with a
/// control character.
fn roff_text(s: &str) -> String {
    let escaped = s.replace('\\', "\\\\").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subcommand, nested ones included, with its path of names.
    fn all(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
        out.push((path.to_string(), cmd.clone()));
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            all(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn the_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn every_subcommand_and_flag_is_explained_in_its_help() {
        let mut cmd = command();
        cmd.build();
        let mut cmds = Vec::new();
        all(&cmd, "ipmi-to-metal", &mut cmds);
        assert!(cmds.len() >= 8, "{}", cmds.len());
        for (path, mut c) in cmds {
            assert!(c.get_about().is_some(), "{path} has no description");
            let help = c.render_long_help().to_string();
            for arg in c.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                let explained = arg.get_help().or(arg.get_long_help());
                assert!(
                    explained.is_some_and(|h| h.to_string().trim().len() > 10),
                    "{path}: {id} is not explained"
                );
                let shown = match (arg.get_long(), arg.get_value_names()) {
                    (Some(long), _) => format!("--{long}"),
                    (None, Some(names)) => format!("<{}>", names[0]),
                    (None, None) => format!("<{}>", id.to_uppercase()),
                };
                assert!(
                    help.contains(&shown),
                    "{path} --help lacks {shown}:\n{help}"
                );
            }
            for value in c
                .get_arguments()
                .flat_map(|a| a.get_possible_values())
                .filter(|v| !v.is_hide_set())
            {
                // The shells are self-explanatory; our own choices carry a description.
                if path.ends_with("completions") {
                    continue;
                }
                assert!(
                    value.get_help().is_some(),
                    "{path}: value {} unexplained",
                    value.get_name()
                );
            }
        }
    }

    #[test]
    fn the_top_level_help_names_the_environment_and_signals() {
        let help = command().render_long_help().to_string();
        for (name, _) in ENVIRONMENT {
            assert!(help.contains(name), "{name}");
        }
        assert!(help.contains("SIGTERM"));
        assert!(help.contains("SIGHUP"));
    }

    #[test]
    fn the_signals_text_says_the_drain_deadline() {
        let secs = crate::shutdown::DRAIN.as_secs();
        assert!(SIGNALS.contains(&format!("up to {secs} s")), "{SIGNALS}");
    }

    #[test]
    fn roff_text_escapes_what_roff_would_interpret() {
        assert_eq!(roff_text("a-b \\n"), "a\\-b \\\\n");
        assert_eq!(roff_text(".SH x"), "\\&.SH x");
    }
}
