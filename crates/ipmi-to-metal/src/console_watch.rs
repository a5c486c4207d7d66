//! A BMC's console as the status page's live console sees it: the output as it comes (every
//! watcher gets it from the console task, beside the log and SOL), and the keyboard, which one
//! writer at a time holds: a SOL session or one watcher ([`LiveConsole::take_keyboard`]; the
//! session layer refuses Activate Payload while a watcher holds it, and the watcher is refused
//! while SOL is active).
//!
//! An idle BMC pays one small allocation for this: the output channel is made when the first
//! watcher comes, and the console task sends into it only while someone watches.

use ipmi_bmc::Console;
use ipmi_proto::session::Server;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::broadcast;

/// Output chunks held for a slow watcher; beyond it the watcher is told that output was lost.
const WATCH_BACKLOG: usize = 256;

/// What the console task shares with the watchers of one BMC's console.
#[derive(Default)]
pub struct ConsoleWatch {
    /// The output to watchers, made at the first watcher.
    output: OnceLock<broadcast::Sender<Arc<[u8]>>>,
    /// The console open now, for the watcher that types.
    console: Mutex<Option<Arc<dyn Console>>>,
    /// A watcher holds the keyboard.
    typing: AtomicBool,
}

impl ConsoleWatch {
    /// The console task's output: to every watcher, if any watches.
    pub fn output(&self, data: &[u8]) {
        if let Some(tx) = self.output.get() {
            if tx.receiver_count() > 0 {
                let _ = tx.send(Arc::from(data));
            }
        }
    }

    /// The console task opened the console (`Some`) or lost it.
    pub fn set_console(&self, console: Option<Arc<dyn Console>>) {
        *self.console.lock().unwrap_or_else(|e| e.into_inner()) = console;
    }

    fn console(&self) -> Option<Arc<dyn Console>> {
        self.console
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// One BMC's console for the admin server: watch it, take its keyboard.
#[derive(Clone)]
pub struct LiveConsole {
    pub(crate) watch: Arc<ConsoleWatch>,
    pub(crate) server: Arc<Mutex<Server>>,
}

/// Why the keyboard was not given.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyboardBusy {
    /// A SOL session is active: it types.
    Sol,
    /// Another watcher types.
    Watcher,
}

impl std::fmt::Display for KeyboardBusy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyboardBusy::Sol => "a SOL session types into this console",
            KeyboardBusy::Watcher => "another browser types into this console",
        })
    }
}

impl LiveConsole {
    /// The output from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<[u8]>> {
        self.watch
            .output
            .get_or_init(|| broadcast::channel(WATCH_BACKLOG).0)
            .subscribe()
    }

    /// The keyboard, if no SOL session and no other watcher holds it; given back when the
    /// [`Keyboard`] is dropped.
    pub fn take_keyboard(&self) -> Result<Keyboard, KeyboardBusy> {
        let mut server = self.server.lock().unwrap_or_else(|e| e.into_inner());
        if self.watch.typing.swap(true, Ordering::AcqRel) {
            return Err(KeyboardBusy::Watcher);
        }
        if !server.sol_take_keyboard(true) {
            self.watch.typing.store(false, Ordering::Release);
            return Err(KeyboardBusy::Sol);
        }
        Ok(Keyboard(self.clone()))
    }
}

/// The keyboard of a console, held: typing goes to the console; dropped, it is given back.
pub struct Keyboard(LiveConsole);

impl Keyboard {
    /// Types `keys` into the console; an error if it is away (lost, opening again).
    pub async fn type_keys(&self, keys: &[u8]) -> Result<(), String> {
        let console = self.0.watch.console().ok_or("the console is away")?;
        console.write(keys).await.map_err(|e| e.to_string())
    }
}

impl Drop for Keyboard {
    fn drop(&mut self) {
        let mut server = self.0.server.lock().unwrap_or_else(|e| e.into_inner());
        server.sol_take_keyboard(false);
        self.0.watch.typing.store(false, Ordering::Release);
    }
}
