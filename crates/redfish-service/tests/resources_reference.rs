//! The guide's reference of the Redfish resources served (docs/redfish-resources.md) against the
//! service's routes: every URI pattern a route of `src/resources/` declares has its row, and each
//! row's pattern, methods and login column are what [`redfish_service::resource`] answers for a
//! path of that pattern. A missing or stale row is named. The "what" column is hand-written.

use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The source of the crate's modules that declare routes, and of its root (for `V1`).
fn sources() -> String {
    let mut text = std::fs::read_to_string(crate_dir().join("src/lib.rs")).unwrap();
    let dir = crate_dir().join("src/resources");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        text.push_str(&std::fs::read_to_string(f).unwrap());
    }
    text
}

/// The value of `const NAME: &str = "...";` in `text`.
fn const_str(text: &str, name: &str) -> Option<String> {
    let at = text.find(&format!("const {name}: &str = \""))?;
    let rest = &text[at..];
    let start = rest.find('"')? + 1;
    let end = start + rest[start..].find('"')?;
    Some(rest[start..end].to_string())
}

/// Every string literal of `const NAME: [...] = [...];` in `text` (a table of patterns).
fn const_table(text: &str, name: &str) -> Option<Vec<String>> {
    let at = text.find(&format!("const {name}: ["))?;
    let body = &text[at..];
    let body = &body[body.find("= [")?..];
    let body = &body[..body.find("];")?];
    Some(
        body.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect(),
    )
}

/// The URI patterns the routes declare: the first argument of every `on_bmc(` and
/// `on_service(` call, a string literal, a `&str` constant, or an entry of a constant table
/// of them (every pattern of the table counts).
fn declared_patterns() -> Vec<String> {
    let text = sources();
    let mut out = Vec::new();
    for call in ["on_bmc(", "on_service("] {
        for (at, _) in text.match_indices(call) {
            let args = &text[at + call.len()..];
            let first = args[..args.find(',').unwrap()].trim();
            if first.contains(':') {
                continue; // the helper's own definition
            }
            match first.strip_prefix('"') {
                Some(lit) => out.push(lit.trim_end_matches('"').to_string()),
                None if first.contains('[') => {
                    let table = first.split('[').next().unwrap_or_default();
                    out.extend(const_table(&text, table).unwrap_or_else(|| {
                        panic!("a route names {first}, not an entry of a &str table")
                    }));
                }
                None => out.push(
                    const_str(&text, first)
                        .unwrap_or_else(|| panic!("a route names {first}, not a &str constant")),
                ),
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A path of `pattern`, with a value for each of its variables.
fn example(pattern: &str) -> String {
    pattern
        .replace("{id}", "node1")
        .replace("{entry}", "1")
        .replace("{nic}", "1")
        .replace("{slot}", "Cd")
        .replace("{file}", "ServiceRoot_v1.xml")
}

/// The methods cell of a route: its methods but HEAD (taken wherever GET is).
fn methods_cell(allow: &[axum::http::Method]) -> String {
    allow
        .iter()
        .filter(|m| **m != axum::http::Method::HEAD)
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows of the reference: (line, pattern, methods, login), the pattern without backticks.
fn rows(page: &Path) -> Vec<(usize, String, String, String)> {
    let text = std::fs::read_to_string(page).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("| `/redfish"))
        .map(|(i, l)| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            assert!(cells.len() >= 4, "line {}: four cells wanted: {l}", i + 1);
            (
                i + 1,
                cells[0].trim_matches('`').to_string(),
                cells[1].to_string(),
                cells[2].to_string(),
            )
        })
        .collect()
}

#[test]
fn the_redfish_resources_reference_matches_the_routes() {
    let page = crate_dir().join("../../docs/redfish-resources.md");
    let rows = rows(&page);
    assert!(!rows.is_empty(), "no rows in {}", page.display());
    let mut wrong = Vec::new();
    for (line, pattern, methods, login) in &rows {
        match redfish_service::resource(&example(pattern)) {
            None => wrong.push(format!("line {line}: {pattern} is not served (stale row)")),
            Some((served, allow, public)) => {
                let want_login = if public { "no" } else { "yes" };
                let want = (served, methods_cell(allow), want_login);
                if (pattern.as_str(), methods.clone(), login.as_str()) != want {
                    wrong.push(format!(
                        "line {line}: | `{pattern}` | {methods} | {login} | is stale: the route is \
                         | `{}` | {} | {} |",
                        want.0, want.1, want.2
                    ));
                }
            }
        }
    }
    for pattern in declared_patterns() {
        if !rows.iter().any(|(_, p, _, _)| *p == pattern) {
            wrong.push(format!("no row for {pattern} (missing)"));
        }
    }
    assert!(
        wrong.is_empty(),
        "docs/redfish-resources.md:\n{}",
        wrong.join("\n")
    );
}
