//! Requests by BMC class, NetFn, command and completion code, counted on the request path
//! without a lock or an allocation: each class has one table of atomics indexed by command slot
//! and completion-code slot, and a BMC holds its class's table from its start. Counting a
//! request is a read of the command index and one relaxed atomic add.
//!
//! The table is per class, not per BMC: 10,000 BMCs share a handful of tables (about 17 KiB
//! each), and their labels stay bounded by the backend kinds.
//!
//! Commands are named from the list the runtime gives once ([`name_commands`]: the commands the
//! BMC model declares); any other command of a NetFn counts as that NetFn's `other`, so that a
//! client sending made-up commands cannot grow the label set. Completion codes are counted
//! one by one where the specification names them (00h, C0h-D6h, FFh) and by range elsewhere.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The NetFns a request may carry (even values 00h-3Eh).
const NETFNS: usize = 32;
/// Completion-code slots: see [`cc_slot`].
const CC_SLOTS: usize = 28;

/// The command slots: a slot per named command, then one `other` per NetFn.
pub struct CommandIndex {
    /// (NetFn >> 1, command) → slot.
    slots: Box<[u8]>,
    /// Each slot's NetFn and command labels.
    labels: Vec<(String, String)>,
}

impl CommandIndex {
    fn new<'a>(commands: impl IntoIterator<Item = (u8, u8, &'a str)>) -> CommandIndex {
        const UNNAMED: u8 = u8::MAX;
        let mut labels: Vec<(String, String)> = Vec::new();
        let mut slots = vec![UNNAMED; NETFNS * 256].into_boxed_slice();
        for (netfn, cmd, name) in commands {
            // Past the slots a u8 can index (about 45 commands are named today), commands
            // count as their NetFn's other.
            if labels.len() + NETFNS >= usize::from(UNNAMED) {
                break;
            }
            let at = usize::from(netfn >> 1 & 0x1f) * 256 + usize::from(cmd);
            if slots[at] == UNNAMED {
                slots[at] = labels.len() as u8;
                labels.push((netfn_name(netfn), snake_case(name)));
            }
        }
        let first_other = labels.len();
        for n in 0..NETFNS {
            labels.push((netfn_name((n as u8) << 1), "other".to_string()));
        }
        for (at, slot) in slots.iter_mut().enumerate() {
            if *slot == UNNAMED {
                *slot = (first_other + at / 256) as u8;
            }
        }
        CommandIndex { slots, labels }
    }

    #[inline]
    fn slot(&self, netfn: u8, cmd: u8) -> usize {
        usize::from(self.slots[usize::from(netfn >> 1 & 0x1f) * 256 + usize::from(cmd)])
    }
}

/// The name of a request NetFn for the `netfn` label: the specification's, or its number.
fn netfn_name(netfn: u8) -> String {
    match netfn & 0x3e {
        0x00 => "chassis".into(),
        0x02 => "bridge".into(),
        0x04 => "sensor_event".into(),
        0x06 => "app".into(),
        0x08 => "firmware".into(),
        0x0a => "storage".into(),
        0x0c => "transport".into(),
        0x2c => "group_extension".into(),
        0x2e => "oem_group".into(),
        n => format!("0x{n:02x}"),
    }
}

/// "Get Chassis Status" → "get_chassis_status".
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// A completion code's slot: 00h, C0h-D6h and FFh one by one; then the command-specific range
/// (80h-BEh), the device-specific one (01h-7Eh), and the reserved codes.
#[inline]
fn cc_slot(cc: u8) -> usize {
    match cc {
        0x00 => 0,
        0xc0..=0xd6 => 1 + usize::from(cc - 0xc0),
        0xff => 24,
        0x80..=0xbe => 25,
        0x01..=0x7e => 26,
        _ => 27,
    }
}

/// The `completion_code` label of a slot.
fn cc_label(slot: usize) -> String {
    match slot {
        0 => "0x00".into(),
        1..=23 => format!("0x{:02x}", 0xc0 + slot - 1),
        24 => "0xff".into(),
        25 => "command_specific".into(),
        26 => "device_specific".into(),
        _ => "reserved".into(),
    }
}

static INDEX: OnceLock<CommandIndex> = OnceLock::new();
static CLASSES: Mutex<Vec<Arc<RequestCounters>>> = Mutex::new(Vec::new());

/// Names the commands counted one by one: `(NetFn, command, name as the specification writes
/// it)`. Call it once, before the first BMC starts; later calls change nothing.
pub fn name_commands<'a>(commands: impl IntoIterator<Item = (u8, u8, &'a str)>) {
    if INDEX.get().is_none() {
        let _ = INDEX.set(CommandIndex::new(commands));
    }
}

fn index() -> &'static CommandIndex {
    INDEX.get_or_init(|| CommandIndex::new([]))
}

/// The request counts of one BMC class.
pub struct RequestCounters {
    class: &'static str,
    index: &'static CommandIndex,
    counts: Box<[AtomicU64]>,
}

impl RequestCounters {
    /// Counts a request answered with completion code `cc`.
    #[inline]
    pub fn count(&self, netfn: u8, cmd: u8, cc: u8) {
        let at = self.index.slot(netfn, cmd) * CC_SLOTS + cc_slot(cc);
        self.counts[at].fetch_add(1, Ordering::Relaxed);
    }
}

/// The request counts of BMC class `class` (its backend kind), shared by its BMCs: take it when
/// a BMC starts, not per request (this takes a lock).
pub fn for_class(class: &'static str) -> Arc<RequestCounters> {
    let mut classes = CLASSES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = classes.iter().find(|c| c.class == class) {
        return c.clone();
    }
    let index = index();
    let counts = (0..index.labels.len() * CC_SLOTS)
        .map(|_| AtomicU64::new(0))
        .collect();
    let c = Arc::new(RequestCounters {
        class,
        index,
        counts,
    });
    classes.push(c.clone());
    c
}

/// Every non-zero count: class, NetFn, command, completion code, count.
pub(crate) fn each(mut f: impl FnMut([&str; 4], u64)) {
    let classes: Vec<Arc<RequestCounters>> =
        CLASSES.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for c in classes {
        for (slot, (netfn, command)) in c.index.labels.iter().enumerate() {
            for cc in 0..CC_SLOTS {
                let n = c.counts[slot * CC_SLOTS + cc].load(Ordering::Relaxed);
                if n > 0 {
                    f([c.class, netfn, command, &cc_label(cc)], n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_named_others_by_netfn_and_codes_by_slot() {
        let index = CommandIndex::new([
            (0x00, 0x01, "Get Chassis Status"),
            (0x06, 0x01, "Get Device ID"),
        ]);
        let label = |netfn, cmd| &index.labels[index.slot(netfn, cmd)];
        assert_eq!(
            label(0x00, 0x01),
            &("chassis".into(), "get_chassis_status".into())
        );
        assert_eq!(label(0x06, 0x01), &("app".into(), "get_device_id".into()));
        assert_eq!(label(0x06, 0x02), &("app".into(), "other".into()));
        assert_eq!(label(0x30, 0x99), &("0x30".into(), "other".into()));
        // A response NetFn (odd) counts as its request's.
        assert_eq!(index.slot(0x07, 0x01), index.slot(0x06, 0x01));
        assert_eq!(index.labels.len(), 2 + NETFNS);

        let labels: Vec<String> = (0..=255u8).map(|cc| cc_label(cc_slot(cc))).collect();
        assert_eq!(labels[0x00], "0x00");
        assert_eq!(labels[0xc1], "0xc1");
        assert_eq!(labels[0xd6], "0xd6");
        assert_eq!(labels[0xff], "0xff");
        assert_eq!(labels[0x81], "command_specific");
        assert_eq!(labels[0x01], "device_specific");
        assert_eq!(labels[0xd7], "reserved");
        let distinct: std::collections::BTreeSet<&String> = labels.iter().collect();
        assert_eq!(distinct.len(), CC_SLOTS);
    }
}
