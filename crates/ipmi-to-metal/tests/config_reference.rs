//! The configuration reference (docs/config-reference.md) against the loader: every table the
//! loader reads has its section there, every key it accepts its row, and no section or row names
//! what the loader does not know.
//!
//! The keys are asked of the program itself, the way a user meets them: `check-config` on a file
//! with an unknown key `zz` in a table answers `unknown field `zz`, expected one of ...`, listing
//! every key of that table. Starting from the top level, each key that opens a table (`[T.K]`, or
//! `[[T.K]]` for an array of tables) is explored in turn, so a table added by a new backend (its
//! `[bmc.NAME]`, found among the keys of `[[bmc]]`) is found without naming it here. The types,
//! defaults and meanings in the reference are written by hand; this test keeps its keys and
//! tables true.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// A table path: each component with whether it is an array of tables.
type TablePath = Vec<(String, bool)>;

/// The probe for `path`: a file whose last table holds the unknown key `zz`, with the tables
/// above it opened (a `[[bmc]]` with its required name and address, and `backend = K` when the
/// table is the BMC's `[bmc.K]` or below it and `with_backend` is set).
fn probe(path: &TablePath, with_backend: bool) -> String {
    let mut text = String::new();
    for i in 0..path.len() {
        let name: Vec<&str> = path[..=i].iter().map(|(n, _)| n.as_str()).collect();
        let name = name.join(".");
        if path[i].1 {
            text.push_str(&format!("[[{name}]]\n"));
        } else {
            text.push_str(&format!("[{name}]\n"));
        }
        if i == 0 && name == "bmc" {
            text.push_str("name = \"a\"\nlisten = \"127.0.0.1:1\"\n");
            if with_backend && path.len() > 1 {
                text.push_str(&format!("backend = \"{}\"\n", path[1].0));
            }
        }
    }
    text.push_str("zz = 1\n");
    text
}

/// The keys `check-config` lists for the table the probe puts `zz` in, or its other error (the
/// path is not such a table).
fn keys_of(dir: &Path, n: &mut usize, text: &str) -> Result<Vec<String>, String> {
    *n += 1;
    let file = dir.join(format!("probe{n}.toml"));
    std::fs::write(&file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"))
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let Some((_, expected)) = err.split_once("unknown field `zz`, expected ") else {
        return Err(err);
    };
    let expected = expected.lines().next().unwrap_or_default();
    Ok(expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect())
}

/// The keys of `key` in the table at `path` if it opens a table: `[T.K]`, or `[[T.K]]` where the
/// loader wants a sequence; under `[[bmc]]` also with `backend = K` (a backend's table that
/// nothing uses is an error of its own).
fn child_table(
    dir: &Path,
    n: &mut usize,
    path: &TablePath,
    key: &str,
) -> Option<(TablePath, Vec<String>)> {
    let mut child = path.clone();
    child.push((key.to_string(), false));
    let err = match keys_of(dir, n, &probe(&child, false)) {
        Ok(keys) => return Some((child, keys)),
        Err(err) => err,
    };
    if err.contains("expected a sequence") {
        child.last_mut().unwrap().1 = true;
        if let Ok(keys) = keys_of(dir, n, &probe(&child, false)) {
            return Some((child, keys));
        }
    }
    if child.first().is_some_and(|(c, _)| c == "bmc") && child.len() > 1 {
        if let Ok(keys) = keys_of(dir, n, &probe(&child, true)) {
            return Some((child, keys));
        }
    }
    None
}

/// `[a.b]` or `[[a.b]]`, and "top level" for the root.
fn title(path: &TablePath) -> String {
    if path.is_empty() {
        return "top level".into();
    }
    let name: Vec<&str> = path.iter().map(|(n, _)| n.as_str()).collect();
    if path.last().unwrap().1 {
        format!("[[{}]]", name.join("."))
    } else {
        format!("[{}]", name.join("."))
    }
}

/// Every table the loader reads, by title, with its keys. Sibling tables with the same keys (the
/// http backend's request per operation) are one table, `[PARENT.NAME]`.
fn loader_tables() -> BTreeMap<String, Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    let mut out = BTreeMap::new();
    let mut todo: Vec<(TablePath, Vec<String>)> = vec![(
        vec![],
        keys_of(dir.path(), &mut n, &probe(&vec![], false)).expect("the top level's keys"),
    )];
    while let Some((path, keys)) = todo.pop() {
        let mut children: Vec<(TablePath, Vec<String>)> = Vec::new();
        for key in &keys {
            children.extend(child_table(dir.path(), &mut n, &path, key));
        }
        // Group siblings with the same keys.
        let mut groups: BTreeMap<Vec<String>, Vec<TablePath>> = BTreeMap::new();
        for (child, k) in &children {
            let mut sorted = k.clone();
            sorted.sort();
            groups.entry(sorted).or_default().push(child.clone());
        }
        for (child, k) in children {
            let mut sorted = k.clone();
            sorted.sort();
            let group = &groups[&sorted];
            if group.len() > 1 {
                if group[0] == child {
                    let mut named = path.clone();
                    named.push(("NAME".into(), child.last().unwrap().1));
                    out.insert(title(&named), k.clone());
                }
            } else {
                todo.push((child, k));
            }
        }
        out.insert(title(&path), keys);
    }
    out
}

/// The reference's sections (`## `[a.b]`` or `## Top level`), each with the keys of its rows
/// (`| `key` | ...`) and the line each is on.
fn reference_tables(text: &str) -> BTreeMap<String, Vec<(String, usize)>> {
    let mut out: BTreeMap<String, Vec<(String, usize)>> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut fence = false;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            fence = !fence;
        }
        if fence {
            continue;
        }
        if let Some(h) = line.strip_prefix("## ") {
            let h = h.trim().trim_matches('`');
            let h = if h.eq_ignore_ascii_case("top level") {
                "top level".to_string()
            } else {
                h.to_string()
            };
            out.entry(h.clone()).or_default();
            current = Some(h);
        } else if let (Some(t), Some(row)) = (&current, line.strip_prefix("| `")) {
            let key = row.split('`').next().unwrap_or_default();
            out.get_mut(t).unwrap().push((key.to_string(), i + 1));
        }
    }
    out
}

#[test]
fn the_configuration_reference_has_every_table_and_key_the_loader_reads() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/config-reference.md"
    );
    let text = std::fs::read_to_string(path).expect("docs/config-reference.md");
    let doc = reference_tables(&text);
    let loader = loader_tables();
    // The loader's own tables are found: the walk did not stop early.
    for t in [
        "top level",
        "[[bmc]]",
        "[[bmc.users]]",
        "[bmc.ipmi]",
        "[bmc.http.NAME]",
    ] {
        assert!(loader.contains_key(t), "{t} not found: {loader:#?}");
    }
    let mut problems = Vec::new();
    for (table, keys) in &loader {
        let Some(rows) = doc.get(table) else {
            problems.push(format!(
                "missing section: ## `{table}` with rows for {}",
                keys.join(", ")
            ));
            continue;
        };
        for key in keys {
            if !rows.iter().any(|(k, _)| k == key) {
                problems.push(format!("missing row: {table} `{key}`"));
            }
        }
        for (key, line) in rows {
            if !keys.contains(key) {
                problems.push(format!(
                    "docs/config-reference.md line {line}: stale row {table} `{key}`: the loader has no such key"
                ));
            }
            if rows.iter().filter(|(k, _)| k == key).count() > 1 {
                problems.push(format!(
                    "docs/config-reference.md line {line}: {table} `{key}` has more than one row"
                ));
            }
        }
    }
    for table in doc.keys() {
        if !loader.contains_key(table) {
            problems.push(format!(
                "docs/config-reference.md: stale section {table}: the loader has no such table"
            ));
        }
    }
    problems.dedup();
    assert!(
        problems.is_empty(),
        "docs/config-reference.md differs from the loader:\n{}",
        problems.join("\n")
    );
}
