//! The simulated machine's serial console: boot messages when it powers on or resets, a login
//! prompt and a tiny line-editing shell (`help`, `echo`, `uname`, `uptime`, `hostname`, `whoami`,
//! `seq`, `logout`), and the messages of a clean shutdown.
//!
//! Output is scheduled on the clock (a boot prints its lines over about half a second) and kept
//! in a queue that [`SimConsole`] hands out when its time has come; like the rest of the sim,
//! nothing runs while nobody reads.

use crate::{advance, State};
use async_trait::async_trait;
use ipmi_bmc::{BackendResult, Console, PowerState};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The most console output queued; beyond it the oldest is dropped (a serial line overruns).
const MAX_QUEUED: usize = 4 << 20;

/// The boot messages, each with how long after power on it is printed. `{device}`, `{mode}` and
/// `{name}` are filled in.
const BOOT: &[(u64, &str)] = &[
    (
        0,
        "\r\nipmi-to-metal simulated firmware 1.0\r\nBooting from {device} ({mode})...\r\n",
    ),
    (
        60,
        "[    0.000000] Linux version 6.1.0-sim (builder@ipmi-to-metal) #1 SMP PREEMPT_DYNAMIC\r\n",
    ),
    (
        90,
        "[    0.000000] Command line: console=ttyS0,115200n8 root=/dev/sda1 ro\r\n",
    ),
    (
        150,
        "[    0.412000] Serial: 8250/16550 driver, 4 ports, IRQ sharing enabled\r\n",
    ),
    (
        200,
        "[    1.020000] EXT4-fs (sda1): mounted filesystem with ordered data mode\r\n",
    ),
    (280, "[  OK  ] Reached target Multi-User System.\r\n"),
    (
        350,
        "\r\nDebian GNU/Linux 12 {name} ttyS0\r\n\r\n{name} login: ",
    ),
];

/// The messages of a clean shutdown (ACPI soft off), printed as the machine goes down.
const SHUTDOWN: &str = "\r\n[  OK  ] Stopped target Multi-User System.\r\n[  OK  ] Reached target Power-Off.\r\n[ 4242.000000] reboot: Power down\r\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Login,
    Password,
    Shell,
}

/// The console's state, inside the machine's state.
#[derive(Debug)]
pub(crate) struct Screen {
    name: String,
    /// Output and when it is due, in order.
    queue: VecDeque<(Instant, Vec<u8>)>,
    queued: usize,
    stage: Stage,
    line: Vec<u8>,
    /// Inside an escape sequence typed at the terminal (arrow keys): skipped.
    escape: u8,
    user: String,
    booted: Option<Instant>,
}

impl Screen {
    pub(crate) fn new(name: &str) -> Screen {
        Screen {
            name: name.to_string(),
            queue: VecDeque::new(),
            queued: 0,
            stage: Stage::Login,
            line: Vec::new(),
            escape: 0,
            user: String::new(),
            booted: None,
        }
    }

    fn push(&mut self, at: Instant, text: &[u8]) {
        self.queued += text.len();
        self.queue.push_back((at, text.to_vec()));
        while self.queued > MAX_QUEUED {
            match self.queue.pop_front() {
                Some((_, t)) => self.queued -= t.len(),
                None => break,
            }
        }
    }

    /// The machine booted at `at` from `device`.
    pub(crate) fn boot(&mut self, at: Instant, device: &str, efi: bool) {
        self.booted = Some(at);
        self.stage = Stage::Login;
        self.line.clear();
        let mode = if efi { "EFI" } else { "legacy" };
        for (ms, text) in BOOT {
            let text = text
                .replace("{device}", device)
                .replace("{mode}", mode)
                .replace("{name}", &self.name);
            self.push(at + Duration::from_millis(*ms), text.as_bytes());
        }
    }

    /// The operating system shut down cleanly at `at`.
    pub(crate) fn shutdown(&mut self, at: Instant) {
        self.push(at, SHUTDOWN.as_bytes());
        self.booted = None;
    }

    /// The power was cut: nothing more is printed, nothing still due will be.
    pub(crate) fn power_cut(&mut self, now: Instant) {
        self.queue.retain(|(at, _)| *at <= now);
        self.queued = self.queue.iter().map(|(_, t)| t.len()).sum();
        self.booted = None;
    }

    /// When the next output is due.
    fn next_due(&self) -> Option<Instant> {
        self.queue.front().map(|(at, _)| *at)
    }

    /// Output due by `now`, at most `max` bytes.
    fn take(&mut self, now: Instant, max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some((at, text)) = self.queue.front_mut() {
            if *at > now || out.len() >= max {
                break;
            }
            let n = text.len().min(max - out.len());
            out.extend(text.drain(..n));
            if text.is_empty() {
                self.queue.pop_front();
            }
        }
        self.queued -= out.len();
        out
    }

    fn prompt(&self) -> String {
        match self.stage {
            Stage::Login => format!("{} login: ", self.name),
            Stage::Password => "Password: ".into(),
            Stage::Shell => format!("{}@{}:~# ", self.user, self.name),
        }
    }

    /// A key typed at the console of a machine that is on.
    pub(crate) fn key(&mut self, now: Instant, b: u8) {
        let echo = self.stage != Stage::Password;
        if self.escape > 0 {
            // ESC [ ... final byte: skip the sequence.
            self.escape = if self.escape == 1 || !(0x40..=0x7e).contains(&b) {
                2
            } else {
                0
            };
            return;
        }
        match b {
            0x1b => self.escape = 1,
            b'\r' | b'\n' => {
                let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
                self.push(now, b"\r\n");
                self.enter(now, line.trim());
                let p = self.prompt();
                self.push(now, p.as_bytes());
            }
            0x7f | 0x08 => {
                let erased = self.line.pop().is_some();
                if erased && echo {
                    self.push(now, b"\x08 \x08");
                }
            }
            0x03 => {
                self.line.clear();
                let p = format!("^C\r\n{}", self.prompt());
                self.push(now, p.as_bytes());
            }
            0x15 => {
                if echo {
                    let erase = "\x08 \x08".repeat(self.line.len());
                    self.push(now, erase.as_bytes());
                }
                self.line.clear();
            }
            0x20..=0x7e if self.line.len() < 1024 => {
                self.line.push(b);
                if echo {
                    self.push(now, &[b]);
                }
            }
            _ => {}
        }
    }

    /// A line entered.
    fn enter(&mut self, now: Instant, line: &str) {
        match self.stage {
            Stage::Login if line.is_empty() => {}
            Stage::Login => {
                self.user = line.chars().take(32).collect();
                self.stage = Stage::Password;
            }
            Stage::Password => {
                self.stage = Stage::Shell;
                let motd = format!(
                    "Welcome to {} (simulated by ipmi-to-metal).\r\nType 'help'.\r\n",
                    self.name
                );
                self.push(now, motd.as_bytes());
            }
            Stage::Shell => {
                let out = self.run(now, line);
                self.push(now, out.as_bytes());
            }
        }
    }

    /// Runs a shell command; its output.
    fn run(&mut self, now: Instant, line: &str) -> String {
        let mut words = line.split_whitespace();
        let Some(cmd) = words.next() else {
            return String::new();
        };
        let args: Vec<&str> = words.collect();
        match cmd {
            "help" => "commands: help echo uname uptime hostname whoami seq logout\r\n".into(),
            "echo" => format!("{}\r\n", args.join(" ")),
            "uname" if args.first() == Some(&"-a") => format!(
                "Linux {} 6.1.0-sim #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux\r\n",
                self.name
            ),
            "uname" => "Linux\r\n".into(),
            "hostname" => format!("{}\r\n", self.name),
            "whoami" => format!("{}\r\n", self.user),
            "uptime" => {
                let up = self
                    .booted
                    .map_or(0, |b| now.saturating_duration_since(b).as_secs());
                format!(
                    " up {} min, {} sec,  1 user,  load average: 0.08, 0.03, 0.01\r\n",
                    up / 60,
                    up % 60
                )
            }
            "seq" => {
                let n: Vec<u64> = args.iter().filter_map(|a| a.parse().ok()).collect();
                let (first, last) = match n[..] {
                    [last] => (1, last),
                    [first, last] => (first, last),
                    _ => return "usage: seq [FIRST] LAST\r\n".into(),
                };
                let mut out = String::new();
                for i in first..=last.min(first + 10_000_000) {
                    out.push_str(&i.to_string());
                    out.push_str("\r\n");
                }
                out
            }
            "logout" | "exit" => {
                self.stage = Stage::Login;
                "\r\n".into()
            }
            other => format!("-sh: {other}: command not found\r\n"),
        }
    }
}

/// A connection to the simulated machine's console.
pub struct SimConsole {
    pub(crate) state: Arc<Mutex<State>>,
    pub(crate) wake: Arc<Notify>,
}

impl SimConsole {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Console for SimConsole {
    async fn read(&self, buf: &mut [u8]) -> BackendResult<usize> {
        loop {
            let next = {
                let now = Instant::now();
                let mut st = self.lock();
                advance(&mut st, now);
                let out = st.screen.take(now, buf.len());
                if !out.is_empty() {
                    buf[..out.len()].copy_from_slice(&out);
                    return Ok(out.len());
                }
                // Wake for the next output, or a power change that is due.
                [st.screen.next_due(), st.pending.map(|(_, at)| at)]
                    .into_iter()
                    .flatten()
                    .min()
            };
            // Nothing due: only a power change or a key (each wakes it) can bring output, so an
            // idle console waits without a timer (thousands of sim BMCs idle in one process).
            match next {
                Some(t) => {
                    let sleep = Box::pin(tokio::time::sleep(
                        t.saturating_duration_since(Instant::now()),
                    ));
                    tokio::select! {
                        _ = sleep => {}
                        _ = self.wake.notified() => {}
                    }
                }
                None => self.wake.notified().await,
            }
        }
    }

    async fn write(&self, data: &[u8]) -> BackendResult<()> {
        let now = Instant::now();
        let parked = {
            let mut st = self.lock();
            advance(&mut st, now);
            if st.power == PowerState::On {
                for b in data {
                    st.screen.key(now, *b);
                }
            }
            st.parked.take()
        };
        self.wake.notify_one();
        if let Some(w) = parked {
            w.wake();
        }
        Ok(())
    }

    /// Quiet when nothing is queued and no power change is scheduled: then only a power action
    /// or a key (each wakes `waker`) can bring output.
    fn park(&self, waker: &std::task::Waker) -> bool {
        let mut st = self.lock();
        advance(&mut st, Instant::now());
        if st.screen.next_due().is_some() || st.pending.is_some() {
            return false;
        }
        st.parked = Some(waker.clone());
        true
    }
}
