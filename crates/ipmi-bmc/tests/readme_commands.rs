//! The guide's "Supported IPMI commands" table (docs/ipmi-commands.md) is derived from the dispatch table: every command
//! the BMC model answers has its row, with the NetFn, Cmd, name, section and privilege its
//! command file declares, and no row names a command the model does not answer. The notes column
//! is hand-written, and so are the rows of the session-layer commands, which ipmi-proto answers
//! itself (listed below by their NetFn and Cmd cells).

use ipmi_bmc::{commands, CommandInfo};
use ipmi_proto::types::{NetFn, Privilege};

/// The NetFn and Cmd cells of the hand-written rows for what the session layer answers.
const SESSION_LAYER_ROWS: &[[&str; 2]] = &[
    ["App 06", "38"],
    ["App 06", "39/3A"],
    ["App 06", "3B"],
    ["App 06", "3C"],
    ["App 06", "3D"],
    ["App 06", "48"],
    ["App 06", "49"],
    ["App 06", "4A"],
    ["App 06", "4B"],
    ["App 06", "4E"],
    ["App 06", "4F"],
    ["App 06", "54"],
    ["Transport 0C", "21"],
    ["Transport 0C", "22"],
    ["RMCP+", "–"],
    ["RMCP+ SOL", "–"],
    ["ASF", "–"],
];

/// The table's header: the cells the test renders, then the notes.
const HEADER: [&str; 5] = [
    "NetFn",
    "Cmd",
    "Command (IPMI 2.0 section)",
    "Privilege",
    "Notes",
];

fn netfn_name(netfn: NetFn) -> &'static str {
    match netfn {
        NetFn::CHASSIS => "Chassis",
        NetFn::BRIDGE => "Bridge",
        NetFn::SENSOR_EVENT => "Sensor/Event",
        NetFn::APP => "App",
        NetFn::FIRMWARE => "Firmware",
        NetFn::STORAGE => "Storage",
        NetFn::TRANSPORT => "Transport",
        NetFn::GROUP_EXTENSION => "Group Extension",
        _ => "NetFn",
    }
}

fn privilege_name(privilege: Option<Privilege>) -> &'static str {
    match privilege {
        None => "none",
        Some(Privilege::Callback) => "Callback",
        Some(Privilege::User) => "User",
        Some(Privilege::Operator) => "Operator",
        Some(Privilege::Administrator) => "Admin",
        Some(Privilege::Oem) => "OEM",
    }
}

/// The four derived cells of a command's row.
fn render(c: &CommandInfo) -> [String; 4] {
    [
        format!("{} {:02X}", netfn_name(c.netfn), c.netfn.0),
        format!("{:02X}", c.cmd),
        format!("{} ({})", c.name, c.section),
        privilege_name(c.privilege).to_string(),
    ]
}

/// A table row as Markdown, for messages.
fn row(cells: &[String]) -> String {
    format!("| {} |", cells.join(" | "))
}

/// The rows of the table under `# Supported IPMI commands`, with their line numbers, after
/// checking its header.
fn table(readme: &str) -> Vec<(usize, Vec<String>)> {
    let mut lines = readme
        .lines()
        .enumerate()
        .skip_while(|(_, l)| l.trim() != "# Supported IPMI commands")
        .skip_while(|(_, l)| !l.starts_with('|'))
        .take_while(|(_, l)| l.starts_with('|'))
        .map(|(i, l)| {
            let cells = l.trim().trim_matches('|').split('|');
            (
                i + 1,
                cells.map(|c| c.trim().to_string()).collect::<Vec<_>>(),
            )
        });
    let header = lines
        .next()
        .expect("docs/ipmi-commands.md has a Supported IPMI commands table");
    assert_eq!(
        header.1, HEADER,
        "docs/ipmi-commands.md line {}: the table's header",
        header.0
    );
    lines.skip(1).collect()
}

#[test]
fn the_guide_command_table_lists_every_dispatched_command() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/ipmi-commands.md");
    let readme = std::fs::read_to_string(path).expect("read docs/ipmi-commands.md");
    let rows = table(&readme);
    let mut problems = Vec::new();
    for c in commands() {
        let want = render(c);
        let found: Vec<_> = rows
            .iter()
            .filter(|(_, r)| r.get(..2) == Some(&want[..2]))
            .collect();
        match found.as_slice() {
            [] => problems.push(format!("missing row: {} (notes) |", row(&want))),
            [(line, r)] if r.len() != HEADER.len() || r[..4] != want => problems.push(format!(
                "docs/ipmi-commands.md line {line}: {}\n    should begin {}",
                row(r),
                row(&want)
            )),
            [_] => {}
            [(line, _), ..] => problems.push(format!(
                "docs/ipmi-commands.md line {line}: {} has {} rows",
                row(&want[..2]),
                found.len()
            )),
        }
    }
    for (line, r) in &rows {
        if r.len() != HEADER.len() {
            problems.push(format!(
                "docs/ipmi-commands.md line {line}: {} has {} cells",
                row(r),
                r.len()
            ));
            continue;
        }
        let dispatched = commands().iter().any(|c| r[..2] == render(c)[..2]);
        let session = SESSION_LAYER_ROWS.iter().any(|k| r[..2] == k[..]);
        if !dispatched && !session {
            problems.push(format!(
                "docs/ipmi-commands.md line {line}: {} is neither a dispatched command nor a session-layer row",
                row(r)
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the command table of docs/ipmi-commands.md differs from ipmi_bmc::commands():\n{}",
        problems.join("\n")
    );
}
