//! The presets: ready-made `[bmc.http]` blocks for providers, selected with `preset = "NAME"`.
//! Each is the TOML text of a `[bmc.http]` table (without the table header) in `presets/`,
//! read with the same rules as the user's; the user's keys and operation tables override its
//! own. The README says which parts were checked against what.

/// Every preset: its name and its text.
pub const PRESETS: [(&str, &str); 3] = [
    (
        "hetzner-robot",
        include_str!("../presets/hetzner-robot.toml"),
    ),
    ("latitude-sh", include_str!("../presets/latitude-sh.toml")),
    (
        "scaleway-elastic-metal",
        include_str!("../presets/scaleway-elastic-metal.toml"),
    ),
];

/// The text of preset `name`.
pub fn get(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The presets' names.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|(n, _)| *n).collect()
}
